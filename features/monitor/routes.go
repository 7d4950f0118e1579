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

// routes mounts the page and its stream.
func routes(r chi.Router, logger *slog.Logger) {
	s := &sampler{interval: time.Second, sample: hostSample}
	h := handlers{logger: logger, hub: sse.NewHub(sse.FromChannel(s.watch), render)}
	r.Get("/monitor", h.page)
	r.Get("/monitor/updates", h.updates)
}
