// Package components holds small fragments every feature uses.
package components
