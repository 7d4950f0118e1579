package reverse

import (
	"log/slog"
	"net/http"

	"ironstar/features/common/layouts"
	"ironstar/features/reverse/pages"
)

type handlers struct {
	logger *slog.Logger
}

func (h handlers) page(w http.ResponseWriter, r *http.Request) {
	if err := pages.Reverse(layouts.Page{Title: "Reverse", Path: "/reverse"}).Render(r.Context(), w); err != nil {
		h.logger.DebugContext(r.Context(), "reverse: render page", "err", err)
	}
}
