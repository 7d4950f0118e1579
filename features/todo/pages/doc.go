// Package pages holds the todo feature's page.
package pages
