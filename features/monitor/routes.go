// Package monitor is the Monitor page: the host's CPU and memory, sampled
// every second while at least one page is open and pushed to all of them as
// Datastar signals.
package monitor

import (
	"log/slog"
	"time"

	"github.com/go-chi/chi/v5"

	"ironstar/sse"
)

// Deps is what the feature needs from the composition root.
type Deps struct {
	Logger *slog.Logger
}

// routes mounts the page and its stream.
func routes(r chi.Router, deps Deps) {
	s := &sampler{interval: time.Second, sample: hostSample}
	h := handlers{logger: deps.Logger, hub: sse.NewHub(sse.FromChannel(s.watch), render)}
	r.Get("/monitor", h.page)
	r.Get("/monitor/updates", h.updates)
}
