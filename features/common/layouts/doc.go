// Package layouts holds the page shell every feature renders into.
package layouts
