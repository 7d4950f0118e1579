// Package analytics is the analytics page: it draws the dashboard the
// analytics engine publishes (package engine: DuckDB over the whole event
// history, in a process of its own) with ECharts and Vega-Lite, live over
// SSE, and says so plainly when no engine is running. The web app follows
// the published dashboard like any other read model and links no DuckDB.
package analytics

import (
	"log/slog"

	"github.com/go-chi/chi/v5"

	"ironstar/session"
	"ironstar/sse"
)

// Deps is what the feature needs from the composition root.
type Deps struct {
	Logger *slog.Logger
	// Engine follows what the engine publishes.
	Engine engineWatch
	// Sessions tell the visitor's own todo list from everyone else's.
	Sessions *session.Store
}

// routes mounts the page and its stream.
func routes(r chi.Router, deps Deps) {
	h := handlers{logger: deps.Logger, engine: deps.Engine, hub: sse.NewHub(sse.FromChannel(deps.Engine.watch), render)}
	r.Group(func(r chi.Router) {
		r.Use(deps.Sessions.Middleware)
		r.Get("/analytics", h.page)
		r.Get("/analytics/updates", h.updates)
	})
}
