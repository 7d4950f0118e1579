// Package pages holds the index feature's full pages.
package pages
