// Package pages holds the counter feature's page.
package pages
