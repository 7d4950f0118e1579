// Package reverse is the Reverse page: a vanilla web component bound to
// Datastar signals in both directions. It has no server state.
package reverse

import (
	"log/slog"

	"github.com/go-chi/chi/v5"
)

// routes mounts the page.
func routes(r chi.Router, logger *slog.Logger) {
	h := handlers{logger: logger}
	r.Get("/reverse", h.page)
}
