// Package pages holds the about feature's full pages.
package pages
