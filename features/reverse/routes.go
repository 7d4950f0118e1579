// Package reverse is the Reverse page: a vanilla web component bound to
// Datastar signals in both directions. It has no server state.
package reverse

import (
	"log/slog"

	"github.com/go-chi/chi/v5"
)

// Deps is what the feature needs from the composition root.
type Deps struct {
	Logger *slog.Logger
}

// routes mounts the page.
func routes(r chi.Router, deps Deps) {
	h := handlers{logger: deps.Logger}
	r.Get("/reverse", h.page)
}
