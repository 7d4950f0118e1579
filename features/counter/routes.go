package counter

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
	// Storage holds the counters' events and snapshots.
	Storage es.Storage
	// View reads the counters projection (see Projection).
	View     *projection.View[CounterView]
	Sessions *session.Store
	// Admission bounds the commands in flight in the process (nil: no bound).
	Admission *command.Admission
	// Quota limits how much each session writes (nil: no limit).
	Quota *command.Quota
}

// counterSchema versions Counter's shape in snapshots: bump it when Counter
// changes.
const counterSchema = 1

// routes mounts the counter page, its stream and its commands.
func routes(r chi.Router, deps Deps) {
	h := &handlers{
		logger:   deps.Logger,
		view:     deps.View,
		counters: es.NewHandler(deps.Storage, Decider(), counterSchema),
	}
	h.hub = sse.NewHub(deps.View.Watch, h.render)
	r.Group(func(r chi.Router) {
		r.Use(deps.Sessions.Middleware)
		r.Get("/counter", h.page)
		r.Get("/counter/updates", h.updates)
	})
	// Commands run only in the session the page started (the global
	// counter's too: its events name the session).
	r.Group(func(r chi.Router) {
		r.Use(command.Guarded(deps.Sessions, deps.Admission, deps.Quota, deps.Logger, errorID)...)
		r.Post("/counter/{which}/increment", h.command(Increment{}))
		r.Post("/counter/{which}/decrement", h.command(Decrement{}))
	})
}
