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
	engine engineWatch
	// hub renders each dashboard once per viewer: the busiest lists name
	// the viewer's own list and no one else's.
	hub *sse.Hub[status, viewer]
}

// viewer is the todo list ID of the session watching the dashboard (empty
// for none).
type viewer string

func (h handlers) page(w http.ResponseWriter, r *http.Request) {
	running := h.engine.running(r.Context())
	if err := pages.Analytics(layouts.Page{Title: "Analytics", Path: "/analytics"}, running).Render(r.Context(), w); err != nil {
		h.logger.DebugContext(r.Context(), "analytics: render page", "err", err)
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
func render(s status, v viewer) sse.Frame {
	d := s.Dashboard
	data, _ := json.Marshal(pages.Signals{Analytics: pages.Dashboard{
		Engine:    s.Running,
		Events:    d.Events,
		Sessions:  d.ActiveSessions,
		PerMinute: perMinuteOption(d),
		Lists:     busiestListsOption(d, v),
		Flow:      todoFlowSpec(d),
	}})
	return sse.PatchSignals(d.Seq, data)
}
