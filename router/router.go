// Package router builds the HTTP handler: the middleware every request goes
// through, the static files, and the routes of every feature.
package router

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"ironstar/clientip"
	"ironstar/features/analytics"
	"ironstar/features/counter"
	"ironstar/features/health"
	"ironstar/features/index"
	"ironstar/features/monitor"
	"ironstar/features/reverse"
	"ironstar/features/sortable"
	"ironstar/features/todo"
	"ironstar/sse"
	"ironstar/web/resources"
)

// Deps is everything the features need, built by the composition root.
type Deps struct {
	Logger *slog.Logger
	// Lifetime ends when shutdown begins; long-lived streams watch it.
	Lifetime context.Context
	// Ready are the readiness checks (NATS, the event store, projections).
	Ready []health.Check
	// Dev adds the browser reload stream of development builds.
	Dev bool
	// LogAllRequests logs every request, not only failed and slow ones.
	LogAllRequests bool
	// Heartbeat is how often a quiet stream sends a comment (0: never).
	Heartbeat time.Duration
	// MaxStreams, MaxStreamsPerSession and MaxStreamsPerClient cap the SSE
	// streams open at once in the process, per session and per client
	// address (see sse.Limiter); 0 is no cap.
	MaxStreams, MaxStreamsPerSession, MaxStreamsPerClient int
	// Clients finds each request's client address (see clientip), which
	// per-client limits key on.
	Clients clientip.Resolver
	// The features' shares.
	Todo      todo.Deps
	Counter   counter.Deps
	Sortable  sortable.Deps
	Analytics analytics.Deps
}

// New returns the app's handler.
func New(deps Deps) (http.Handler, error) {
	r := chi.NewRouter()
	r.Use(
		middleware.RequestID,
		deps.Clients.Middleware,
		securityHeaders(deps.Dev),
		logRequests(deps.Logger, deps.LogAllRequests, slowRequest),
		recoverPanics(deps.Logger),
		sse.WithSettings(sse.Settings{Lifetime: deps.Lifetime, Heartbeat: deps.Heartbeat}),
		sse.WithLimiter(sse.NewLimiter(deps.MaxStreams,
			sse.Cap{Max: deps.MaxStreamsPerSession, Key: streamOwner},
			sse.Cap{Max: deps.MaxStreamsPerClient, Key: clientip.FromRequest})),
		// Cross-origin POST/PUT/PATCH/DELETE get 403; safe methods pass.
		http.NewCrossOriginProtection().Handler,
		compressPages(),
	)

	r.Handle(resources.Prefix+"*", resources.Handler())
	if deps.Dev {
		r.Get("/dev/reload", devReload(newBootID()))
	}

	if err := health.SetupRoutes(r, health.Deps{Logger: deps.Logger, Checks: deps.Ready}); err != nil {
		return nil, err
	}
	if err := index.SetupRoutes(r, index.Deps{Logger: deps.Logger}); err != nil {
		return nil, err
	}
	if err := todo.SetupRoutes(r, deps.Todo); err != nil {
		return nil, err
	}
	if err := counter.SetupRoutes(r, deps.Counter); err != nil {
		return nil, err
	}
	if err := sortable.SetupRoutes(r, deps.Sortable); err != nil {
		return nil, err
	}
	if err := reverse.SetupRoutes(r, reverse.Deps{Logger: deps.Logger}); err != nil {
		return nil, err
	}
	if err := monitor.SetupRoutes(r, monitor.Deps{Logger: deps.Logger}); err != nil {
		return nil, err
	}
	if err := analytics.SetupRoutes(r, deps.Analytics); err != nil {
		return nil, err
	}
	return r, nil
}
