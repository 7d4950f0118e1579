// Package pages holds the sortable feature's page.
package pages
