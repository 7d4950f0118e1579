package eventlog

import (
	"log/slog"

	"github.com/go-chi/chi/v5"

	"ironstar/nats/eventstore"
)

// Deps is what the feature needs from the composition root.
type Deps struct {
	Logger *slog.Logger
	// Events is the event store the log reads.
	Events *eventstore.Store
}

// routes mounts the log's page, its stream and its older pages.
func routes(r chi.Router, deps Deps) {
	h := &handlers{logger: deps.Logger, store: deps.Events}
	r.Get("/events", h.page)
	r.Get("/events/updates", h.updates)
	r.Get("/events/older", h.older)
}
