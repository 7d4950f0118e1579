// Package components holds the counter page's fragments.
package components
