// Package health answers liveness and readiness probes: /health/live says the
// process serves HTTP, /health/ready that every check the composition root
// registered passes (NATS connected and JetStream answering, the event store
// writable), so a load balancer sends users only to instances that can work.
// A check that only degrades the instance (a projection with parked events)
// is reported as "degraded" with a 200. Once shutdown begins, readiness is
// 503 whatever the checks say, so that the balancer stops sending requests
// while the instance still serves the ones it has (SHUTDOWN_DELAY).
package health

import (
	"context"
	"log/slog"

	"github.com/go-chi/chi/v5"
)

// Check is one thing readiness depends on.
type Check struct {
	// Name appears in the probe's JSON body, e.g. "nats" or "projection:todo_lists".
	Name string
	// Check returns nil when the part works. Its error goes to the log, never
	// to the probe's body.
	Check func(context.Context) error
	// Degrades marks a check whose failure leaves the instance serving:
	// the probe says "degraded" (for it, and overall unless another check
	// is down) and stays 200. A projection with a parked event is one: one
	// key lacks an event, every other key is up to date, and as every
	// instance shares the projection, a 503 would take them all out of the
	// balancer at once for one key's problem.
	Degrades bool
}

// Deps is what the feature needs from the composition root.
type Deps struct {
	Logger *slog.Logger
	// Checks are run, all of them, on every readiness probe.
	Checks []Check
	// Draining ends when shutdown begins; from then on readiness answers
	// 503 without running the checks. Nil: never.
	Draining context.Context
}

// Routes mounts the probes.
func Routes(r chi.Router, deps Deps) {
	h := handlers{logger: deps.Logger, checks: deps.Checks, draining: deps.Draining}
	r.Get("/health/live", h.live)
	r.Get("/health/ready", h.readiness)
}
