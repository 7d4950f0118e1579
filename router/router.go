// Package router builds the HTTP handler: the middleware every request goes
// through, the static files, and the routes of every feature.
package router

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"ironstar/clientip"
	"ironstar/features/common/layouts"
	"ironstar/features/feature"
	"ironstar/features/health"
	"ironstar/metrics"
	"ironstar/operator"
	"ironstar/sse"
	"ironstar/web/resources"
)

// Deps is everything the features need, built by the composition root.
type Deps struct {
	Logger *slog.Logger
	// Lifetime ends when the instance stops serving streams (after the
	// shutdown delay); long-lived streams watch it.
	Lifetime context.Context
	// Draining ends as soon as shutdown begins: readiness turns 503.
	Draining context.Context
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
	// Metrics, when set, counts every request by route pattern, method and
	// status, and each feature's commands and streams (see package
	// metrics).
	Metrics *metrics.Metrics
	// Operator tells operators from everyone else, for the operator
	// features' routes and the sign-in form.
	Operator *operator.Gate
	// Nav is the main navigation, Features the features' routes (both from
	// the feature list, package features).
	Nav      []layouts.NavLink
	Features []Mounted
}

// Mounted is a feature's routes under its name; Operator marks operator
// routes (feature.Feature.Operator).
type Mounted struct {
	Name     string
	Operator bool
	Routes   feature.Routes
}

// New returns the app's handler.
func New(deps Deps) http.Handler {
	r := chi.NewRouter()
	r.Use(
		requestID,
		deps.Clients.Middleware,
		securityHeaders(deps.Dev),
		logRequests(deps.Logger, deps.LogAllRequests, slowRequest),
	)
	streams := sse.Settings{Lifetime: deps.Lifetime, Heartbeat: deps.Heartbeat}
	if deps.Metrics != nil {
		// Inside logRequests, whose status-recording writer it reuses;
		// outside recoverPanics, so that a recovered panic counts as 500.
		r.Use(deps.Metrics.HTTP.Middleware)
		streams.Meter = deps.Metrics.Streams
	}
	r.Use(
		recoverPanics(deps.Logger),
		sse.WithSettings(streams),
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

	health.Routes(r, health.Deps{Logger: deps.Logger, Checks: deps.Ready, Draining: deps.Draining})
	r.Group(func(r chi.Router) {
		r.Use(layouts.WithNav(deps.Nav))
		deps.Operator.Routes(r, deps.Logger)
		for _, f := range deps.Features {
			if f.Operator && !deps.Operator.Enabled() {
				continue // no operator routes in this build
			}
			r.Group(func(r chi.Router) {
				if f.Operator {
					r.Use(deps.Operator.Guard)
				}
				if deps.Metrics != nil {
					r.Use(metrics.WithFeature(f.Name))
				}
				f.Routes(r)
			})
		}
	})
	if home := homeRedirect(r, deps.Nav); home != nil {
		r.Get("/", home)
	}
	return r
}

// homeRedirect sends / to the first page of the navigation when no feature
// serves / itself (an app without the TodoMVC example, say); nil when one
// does or there is no page.
func homeRedirect(r chi.Router, nav []layouts.NavLink) http.HandlerFunc {
	if len(nav) == 0 || r.Match(chi.NewRouteContext(), http.MethodGet, "/") {
		return nil
	}
	first := nav[0].Href
	return func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, first, http.StatusSeeOther)
	}
}
