// Package components holds the todo feature's fragments: rendered into the
// page, and alone as the SSE patches that keep every tab up to date.
package components
