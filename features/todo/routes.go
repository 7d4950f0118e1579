package todo

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
	// Lists runs the lists' commands (NewLists). The ListCompletion
	// reactor shares it, so that its commands and the page's on one list
	// take turns in this process rather than collide.
	Lists *es.Handler[List, Command, Event]
	// View reads the todo_lists projection (see Projection).
	View *projection.View[ListView]
	// CatchingUp reports whether this process is applying a backlog of
	// todo events (projection.Runner.CatchingUp): the page then says that
	// lists may be behind. Nil: never.
	CatchingUp func() bool
	Sessions   *session.Store
	// Admission bounds the commands in flight in the process (nil: no bound).
	Admission *command.Admission
	// Quota limits how much each session writes (nil: no limit).
	Quota *command.Quota
}

// listSchema versions List's shape in snapshots: bump it when List changes.
const listSchema = 2

// NewLists returns the handler of the lists' commands, snapshotted in
// st.Snapshots.
func NewLists(st es.Storage) *es.Handler[List, Command, Event] {
	return es.NewHandler(st, Decider(), listSchema)
}

// routes mounts the TodoMVC page, its stream and its commands.
func routes(r chi.Router, deps Deps) {
	h := &handlers{
		logger:     deps.Logger,
		view:       deps.View,
		catchingUp: deps.CatchingUp,
		lists:      deps.Lists,
	}
	h.hub = sse.NewHub(deps.View.Watch, h.render)
	r.Group(func(r chi.Router) {
		r.Use(deps.Sessions.Middleware)
		r.Get("/", h.page)
		r.Get("/todos/updates", h.updates)
	})
	// Commands run only in the session the page started.
	r.Group(func(r chi.Router) {
		r.Use(command.Guarded(deps.Sessions, deps.Admission, deps.Quota, deps.Logger, errorID)...)
		r.Post("/todos", h.command(add))
		r.Post("/todos/complete-all", h.command(constant(SetAllCompleted{Completed: true})))
		r.Post("/todos/reopen-all", h.command(constant(SetAllCompleted{Completed: false})))
		r.Post("/todos/clear-completed", h.command(constant(ClearCompleted{})))
		r.Post("/todos/{id}/complete", h.command(setCompleted(true)))
		r.Post("/todos/{id}/reopen", h.command(setCompleted(false)))
		r.Put("/todos/{id}", h.command(rename))
		r.Delete("/todos/{id}", h.command(remove))
	})
}
