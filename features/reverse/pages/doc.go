// Package pages holds the reverse feature's page.
package pages
