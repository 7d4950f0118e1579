package sortable

import (
	"log/slog"

	"github.com/go-chi/chi/v5"

	"ironstar/command"
	"ironstar/es"
	"ironstar/nats/projection"
	"ironstar/session"
	"ironstar/sse"
)

// Deps is what the feature needs from the composition root.
type Deps struct {
	Logger *slog.Logger
	// Storage holds the boards' events and snapshots.
	Storage es.Storage
	// View reads the boards projection (see Projection).
	View     *projection.View[BoardView]
	Sessions *session.Store
	// Admission bounds the commands in flight in the process (nil: no bound).
	Admission *command.Admission
	// Quota limits how much each session writes (nil: no limit).
	Quota *command.Quota
}

// boardSchema versions Board's shape in snapshots: bump it when Board
// changes.
const boardSchema = 1

// routes mounts the page, its stream and its command.
func routes(r chi.Router, deps Deps) {
	h := &handlers{
		logger: deps.Logger,
		view:   deps.View,
		boards: es.NewHandler(deps.Storage, Decider(), boardSchema),
	}
	h.hub = sse.NewHub(deps.View.Watch, render)
	r.Group(func(r chi.Router) {
		r.Use(deps.Sessions.Middleware)
		r.Get("/sortable", h.page)
		r.Get("/sortable/updates", h.updates)
	})
	// The command runs only in the session the page started.
	r.With(command.Guarded(deps.Sessions, deps.Admission, deps.Quota, deps.Logger, errorID)...).Post("/sortable", h.reorder)
}
