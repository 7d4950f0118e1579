package sortable

import (
	"log/slog"

	"github.com/go-chi/chi/v5"

	"ironstar/es"
	"ironstar/features/common/command"
	"ironstar/nats/projection"
	"ironstar/session"
	"ironstar/sse"
)

// Deps is what the feature needs from the composition root.
type Deps struct {
	Logger   *slog.Logger
	Store    es.Store
	Registry *es.Registry
	// View reads the boards projection (see Projection).
	View     *projection.View[View]
	Sessions *session.Store
}

// SetupRoutes mounts the page, its stream and its command.
func SetupRoutes(r chi.Router, deps Deps) error {
	h := &handlers{
		logger: deps.Logger,
		view:   deps.View,
		boards: es.Handler[Board, Command, Event]{Store: deps.Store, Registry: deps.Registry, Decider: Decider()},
	}
	h.hub = sse.NewHub(deps.View.Watch, render)
	r.Group(func(r chi.Router) {
		r.Use(deps.Sessions.Middleware)
		r.Get("/sortable", h.page)
		r.Get("/sortable/updates", h.updates)
		r.With(command.DatastarOnly).Post("/sortable", h.reorder)
	})
	return nil
}
