package analytics

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"ironstar/features/analytics/pages"
	"ironstar/features/common/layouts"
	"ironstar/session"
	"ironstar/sse"
)

type handlers struct {
	logger *slog.Logger
	// hub renders each dashboard once per viewer: the busiest lists name
	// the viewer's own list and no one else's.
	hub *sse.Hub[Dashboard, viewer]
}

// viewer is the todo list ID of the session watching the dashboard (empty
// for none).
type viewer string

func (h handlers) page(w http.ResponseWriter, r *http.Request) {
	if err := pages.Analytics(layouts.Page{Title: "Analytics", Path: "/analytics"}).Render(r.Context(), w); err != nil {
		h.logger.Debug("analytics: render page", "err", err)
	}
}

func (h handlers) updates(w http.ResponseWriter, r *http.Request) {
	sess, _ := session.FromContext(r.Context())
	sse.Stream(w, r, h.logger, func(ctx context.Context) (<-chan sse.Frame, error) {
		return h.hub.Subscribe(ctx, "dashboard", viewer(sess.PublicID))
	})
}

// render turns a dashboard into a patch of the page's local $_analytics
// signal (local: large, and never sent back to the server), as v sees it.
func render(d Dashboard, v viewer) sse.Frame {
	data, _ := json.Marshal(pages.Signals{Analytics: pages.Dashboard{
		Events:    d.Events,
		Sessions:  d.ActiveSessions,
		PerMinute: perMinuteOption(d),
		Lists:     busiestListsOption(d, v),
		Flow:      todoFlowSpec(d),
	}})
	return sse.PatchSignals(d.Seq, data)
}
