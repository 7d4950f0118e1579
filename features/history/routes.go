package history

import (
	"log/slog"

	"github.com/go-chi/chi/v5"

	"ironstar/es"
	"ironstar/features/feature"
)

// Deps is what the feature needs from the composition root.
type Deps struct {
	Logger *slog.Logger
	// Events is the event store the aggregates are loaded from.
	Events es.Store
	// Registry decodes their events, upcasters included.
	Registry *es.Registry
	// Histories are the aggregate types the features teach it.
	Histories []feature.History
}

// routes mounts the history page and the fragment its slider fetches.
func routes(r chi.Router, deps Deps) {
	h := &handlers{logger: deps.Logger, events: deps.Events, registry: deps.Registry, histories: map[string]feature.History{}}
	for _, hist := range deps.Histories {
		h.histories[hist.Aggregate] = hist
	}
	r.Get("/history/{aggregate}/{id}", h.page)
	r.Get("/history/{aggregate}/{id}/point", h.point)
}
