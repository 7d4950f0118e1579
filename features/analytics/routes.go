// Package analytics is Ironstar's read side beyond KV: a projection copies
// every event into DuckDB (store.go, projection.go), queries answer the
// dashboard (queries.go), and the /analytics page draws it with ECharts and
// Vega-Lite, live over SSE (a refresh at most every few hundred
// milliseconds while events arrive).
package analytics

import (
	"log/slog"

	"github.com/go-chi/chi/v5"

	"ironstar/session"
	"ironstar/sse"
)

// Deps is what the feature needs from the composition root.
type Deps struct {
	Logger    *slog.Logger
	Refresher *Refresher
	// Sessions tell the visitor's own todo list from everyone else's.
	Sessions *session.Store
}

// routes mounts the page and its stream.
func routes(r chi.Router, deps Deps) {
	h := handlers{logger: deps.Logger, hub: sse.NewHub(sse.FromChannel(deps.Refresher.watch), render)}
	r.Group(func(r chi.Router) {
		r.Use(deps.Sessions.Middleware)
		r.Get("/analytics", h.page)
		r.Get("/analytics/updates", h.updates)
	})
}
