// Package components holds the about feature's fragments, rendered both in
// the page and alone as SSE patches.
package components
