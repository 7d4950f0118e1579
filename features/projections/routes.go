package projections

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"ironstar/nats/projection"
	"ironstar/sse"
)

// Paths the command line asks (cmd/app/projections.go).
const (
	StatusPath  = "/projections/status"
	CleanupPath = "/projections/cleanup"
)

// RebuildPath is the path that rebuilds the projection called name.
func RebuildPath(name string) string { return "/projections/" + name + "/rebuild" }

// RedrivePath is the path that runs the effect of the event at stream
// sequence seq, parked by the reactor called name, again.
func RedrivePath(name string, seq uint64) string {
	return "/projections/reactors/" + name + "/redrive/" + strconv.FormatUint(seq, 10)
}

// sampleEvery is how often the page's stream sends the whole status.
const sampleEvery = time.Second

type deps struct {
	logger   *slog.Logger
	lifetime context.Context
	cleanup  func(context.Context) ([]projection.Leftover, error)
	sampler  *sampler
}

// routes mounts the page, its stream, and what the page's buttons and the
// command line ask.
func routes(r chi.Router, d deps) {
	h := &handlers{logger: d.logger, lifetime: d.lifetime, cleanUp: d.cleanup, sampler: d.sampler}
	h.hub = sse.NewHub(sse.FromChannel(d.sampler.watch(sampleEvery)), h.render)
	r.Get("/projections", h.page)
	r.Get("/projections/updates", h.updates)
	r.Get(StatusPath, h.status)
	r.Post(CleanupPath, h.cleanup)
	r.Post("/projections/{name}/rebuild", h.rebuild)
	r.Post("/projections/reactors/{name}/redrive/{seq}", h.redrive)
}
