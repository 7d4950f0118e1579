// Package pages holds the analytics feature's page.
package pages
