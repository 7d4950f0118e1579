// Package features is the app: the list of its feature slices, in the order
// of the main navigation. A new feature is its folder plus one line here
// (go tool task feature -- NAME writes both); the every-page browser test
// visits each page of it.
package features

import (
	"ironstar/features/about"
	"ironstar/features/analytics"
	"ironstar/features/counter"
	"ironstar/features/eventlog"
	"ironstar/features/feature"
	"ironstar/features/history"
	"ironstar/features/monitor"
	"ironstar/features/projections"
	"ironstar/features/reverse"
	"ironstar/features/sortable"
	"ironstar/features/todo"
)

// All are the app's features.
func All() []feature.Feature {
	return []feature.Feature{
		todo.Feature(),
		counter.Feature(),
		monitor.Feature(),
		analytics.Feature(),
		sortable.Feature(),
		reverse.Feature(),
		about.Feature(),
		eventlog.Feature(),
		history.Feature(),
		projections.Feature(),
	}
}
