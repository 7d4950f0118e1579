// Package about is the about page: what Ironstar is, and the smallest
// Datastar round trip (signals in, a server-rendered fragment back over SSE).
package about

import (
	"log/slog"

	"github.com/go-chi/chi/v5"
)

// routes mounts the feature's routes.
func routes(r chi.Router, logger *slog.Logger) {
	h := handlers{logger: logger}
	r.Get("/about", h.page)
	r.Get("/about/greeting", h.greeting)
}
