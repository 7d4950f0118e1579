// Package pages holds the event log's page.
package pages
