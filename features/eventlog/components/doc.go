// Package components draws the event log's parts: its rows, the markers
// at the bottom of the list, and the button that pages back.
package components
