// Package pages holds the monitor feature's page.
package pages
