// Package components holds the index feature's fragments, rendered both in
// the page and alone as SSE patches.
package components
