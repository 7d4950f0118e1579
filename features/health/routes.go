// Package health answers liveness and readiness probes: /health/live says the
// process serves HTTP, /health/ready that NATS is connected and JetStream
// answers, so a load balancer sends users only to instances that can work.
package health

import (
	"context"
	"log/slog"

	"github.com/go-chi/chi/v5"
)

// Deps is what the feature needs from the composition root.
type Deps struct {
	Logger *slog.Logger
	// Ready returns nil when the app's dependencies answer.
	Ready func(context.Context) error
}

// SetupRoutes mounts the probes.
func SetupRoutes(r chi.Router, deps Deps) error {
	h := handlers{logger: deps.Logger, ready: deps.Ready}
	r.Get("/health/live", h.live)
	r.Get("/health/ready", h.readiness)
	return nil
}
