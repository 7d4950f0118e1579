package analytics

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"ironstar/features/analytics/pages"
	"ironstar/features/common/layouts"
	"ironstar/sse"
)

type handlers struct {
	logger *slog.Logger
	hub    *sse.Hub[Dashboard, struct{}]
}

func (h handlers) page(w http.ResponseWriter, r *http.Request) {
	if err := pages.Analytics(layouts.Page{Title: "Analytics", Path: "/analytics"}).Render(r.Context(), w); err != nil {
		h.logger.Debug("analytics: render page", "err", err)
	}
}

func (h handlers) updates(w http.ResponseWriter, r *http.Request) {
	sse.Stream(w, r, h.logger, func(ctx context.Context) (<-chan sse.Frame, error) {
		return h.hub.Subscribe(ctx, "dashboard", struct{}{})
	})
}

// render turns a dashboard into a patch of the page's local $_analytics
// signal (local: large, and never sent back to the server).
func render(d Dashboard, _ struct{}) sse.Frame {
	data, _ := json.Marshal(map[string]any{"_analytics": map[string]any{
		"events":    d.Events,
		"sessions":  d.ActiveSessions,
		"perMinute": perMinuteOption(d),
		"lists":     busiestListsOption(d),
		"flow":      todoFlowSpec(d),
	}})
	return sse.PatchSignals(d.Seq, data)
}
