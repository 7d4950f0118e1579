package sortable

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"ironstar/command"
	"ironstar/es"
	common "ironstar/features/common/components"
	"ironstar/features/common/layouts"
	"ironstar/features/sortable/pages"
	"ironstar/nats/projection"
	"ironstar/session"
	"ironstar/sse"
)

type handlers struct {
	logger *slog.Logger
	view   *projection.View[BoardView]
	hub    *sse.Hub[projection.Entry[BoardView], struct{}]
	boards *es.Handler[Board, Command, Event]
}

// labels are the demo's items.
var labels = map[string]string{
	"plan":   "Plan the feature",
	"design": "Design its events",
	"build":  "Build the slice",
	"test":   "Test it in Chromium",
	"ship":   "Ship it",
}

// items is the $board signal for order (the default order if none).
func items(order []string) []pages.Item {
	if len(order) == 0 {
		order = DefaultOrder()
	}
	out := make([]pages.Item, len(order))
	for i, id := range order {
		out[i] = pages.Item{ID: id, Label: labels[id]}
	}
	return out
}

// render is one stream frame: the $board signal.
func render(e projection.Entry[BoardView], _ struct{}) sse.Frame {
	data, _ := json.Marshal(pages.Signals{Board: items(e.Value.Order)})
	return sse.PatchSignals(e.Seq, data)
}

func (h *handlers) page(w http.ResponseWriter, r *http.Request) {
	sess, _ := session.FromContext(r.Context())
	e, err := h.view.Get(r.Context(), sess.PublicID)
	if err != nil && !errors.Is(err, projection.ErrNotFound) {
		command.Unreadable(w, r, h.logger, "the board", err)
		return
	}
	if err := pages.Sortable(layouts.Page{Title: "Sortable", Path: "/sortable"}, items(e.Value.Order)).Render(r.Context(), w); err != nil {
		h.logger.DebugContext(r.Context(), "sortable: render page", "err", err)
	}
}

func (h *handlers) updates(w http.ResponseWriter, r *http.Request) {
	sess, _ := session.FromContext(r.Context())
	sse.Stream(w, r, h.logger, func(ctx context.Context) (<-chan sse.Frame, error) {
		return h.hub.Subscribe(ctx, sess.PublicID, struct{}{})
	})
}

func (h *handlers) reorder(w http.ResponseWriter, r *http.Request) {
	sess, _ := session.FromContext(r.Context())
	s, err := command.ReadSignals[pages.Signals](r)
	if err == nil && s.Order == nil {
		err = command.Missing("order")
	}
	if err == nil {
		_, err = h.boards.Handle(r.Context(), es.StreamID{Aggregate: aggregate, ID: sess.PublicID}, Reorder{Order: s.Order}, command.Metadata(r))
	}
	if err != nil {
		command.Fail(w, r, h.logger, errorID, err, problem)
		return
	}
	doneReply.Write(w)
}

// doneReply hides the error line after a command that went through.
var doneReply = sse.NewReply(sse.MustPatch(common.Alert(errorID, "")))

// errorID is the id of the page's error line.
const errorID = "sortable-error"

func problem(err error) (command.Problem, bool) {
	if errors.Is(err, ErrNotAPermutation) {
		return command.Problem{Status: http.StatusUnprocessableEntity, Message: "That order does not hold each item exactly once."}, true
	}
	return command.Problem{}, false
}
