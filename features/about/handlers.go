package about

import (
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/starfederation/datastar-go/datastar"

	"ironstar/features/about/components"
	"ironstar/features/about/pages"
	"ironstar/features/common/layouts"
	"ironstar/sse"
)

// maxNameLength bounds the name a visitor can be greeted by, in characters.
const maxNameLength = 40

type handlers struct {
	logger *slog.Logger
}

func (h handlers) page(w http.ResponseWriter, r *http.Request) {
	page := layouts.Page{Title: "About", Path: r.URL.Path}
	if err := pages.About(page, maxNameLength).Render(r.Context(), w); err != nil {
		h.logger.WarnContext(r.Context(), "render about", "err", err)
	}
}

func (h handlers) greeting(w http.ResponseWriter, r *http.Request) {
	var signals pages.Signals
	if err := datastar.ReadSignals(r, &signals); err != nil {
		http.Error(w, "malformed signals: expected {\"name\": string}", http.StatusBadRequest)
		return
	}
	name := strings.TrimSpace(signals.Name)
	if utf8.RuneCountInString(name) > maxNameLength {
		http.Error(w, "name too long: at most 40 characters", http.StatusBadRequest)
		return
	}
	frame, err := sse.Patch(0, components.Greeting(name))
	if err != nil {
		h.logger.ErrorContext(r.Context(), "render greeting", "err", err)
		http.Error(w, "the greeting cannot be shown right now", http.StatusInternalServerError)
		return
	}
	sse.NewReply(frame).Write(w)
}
