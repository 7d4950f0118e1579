package counter

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"ironstar/command"
	"ironstar/es"
	common "ironstar/features/common/components"
	"ironstar/features/common/layouts"
	"ironstar/features/counter/components"
	"ironstar/features/counter/pages"
	"ironstar/nats/projection"
	"ironstar/session"
	"ironstar/sse"
)

type handlers struct {
	logger   *slog.Logger
	view     *projection.View[CounterView]
	hub      *sse.Hub[projection.Entry[CounterView], slot]
	counters *es.Handler[Counter, Command, Event]
}

// slot is where on the page a counter goes.
type slot string

const (
	globalSlot slot = "global"
	mineSlot   slot = "mine"
)

func viewModel(s slot, value int) components.CounterVM {
	if s == globalSlot {
		return components.CounterVM{ID: "counter-global", Title: "Everyone", Note: "One counter for all visitors.", Value: value, Path: "/counter/global"}
	}
	return components.CounterVM{ID: "counter-mine", Title: "Yours", Note: "This browser session's own counter.", Value: value, Path: "/counter/mine"}
}

// render is one stream frame: a counter's fragment.
func (h *handlers) render(e projection.Entry[CounterView], s slot) sse.Frame {
	vm := viewModel(s, e.Value.Value)
	vm.Live = true
	frame, err := sse.Patch(e.Seq, components.Counter(vm))
	if err != nil {
		h.logger.Error("counter: render", "err", err)
	}
	return frame
}

func (h *handlers) value(ctx context.Context, id string) (int, error) {
	e, err := h.view.Get(ctx, id)
	if errors.Is(err, projection.ErrNotFound) {
		return 0, nil
	}
	return e.Value.Value, err
}

func (h *handlers) page(w http.ResponseWriter, r *http.Request) {
	sess, _ := session.FromContext(r.Context())
	global, err := h.value(r.Context(), GlobalID)
	mine, err2 := h.value(r.Context(), sess.PublicID)
	if err := errors.Join(err, err2); err != nil {
		command.Unreadable(w, r, h.logger, "the counters", err)
		return
	}
	page := layouts.Page{Title: "Counters", Path: "/counter"}
	if err := pages.Counter(page, viewModel(globalSlot, global), viewModel(mineSlot, mine)).Render(r.Context(), w); err != nil {
		h.logger.DebugContext(r.Context(), "counter: render page", "err", err)
	}
}

// updates streams both counters of the page: the global one and the
// session's.
func (h *handlers) updates(w http.ResponseWriter, r *http.Request) {
	sess, _ := session.FromContext(r.Context())
	sse.Stream(w, r, h.logger, func(ctx context.Context) (<-chan sse.Frame, error) {
		global, err := h.hub.Subscribe(ctx, GlobalID, globalSlot)
		if err != nil {
			return nil, err
		}
		mine, err := h.hub.Subscribe(ctx, sess.PublicID, mineSlot)
		if err != nil {
			return nil, err
		}
		return sse.Merge(ctx, global, mine), nil
	})
}

// command runs cmd on the counter the path names: "global", or "mine" (the
// session's).
func (h *handlers) command(cmd Command) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, _ := session.FromContext(r.Context())
		id := GlobalID
		switch chi.URLParam(r, "which") {
		case "global":
		case "mine":
			id = sess.PublicID
		default:
			command.Fail(w, r, h.logger, errorID, errNoSuchCounter, problem)
			return
		}
		if _, err := command.ReadSignals[struct{}](r); err != nil {
			command.Fail(w, r, h.logger, errorID, err, problem)
			return
		}
		if _, err := h.counters.Handle(r.Context(), es.StreamID{Aggregate: aggregate, ID: id}, cmd, command.Metadata(r)); err != nil {
			command.Fail(w, r, h.logger, errorID, err, problem)
			return
		}
		doneReply.Write(w)
	}
}

// doneReply hides the error line after a command that went through.
var doneReply = sse.NewReply(sse.MustPatch(common.Alert(errorID, "")))

// errorID is the id of the page's error line.
const errorID = "counter-error"

var errNoSuchCounter = errors.New("counter: no such counter")

func problem(err error) (command.Problem, bool) {
	switch {
	case errors.Is(err, ErrBelowZero):
		return command.Problem{Status: http.StatusConflict, Message: "That counter is at zero already."}, true
	case errors.Is(err, errNoSuchCounter):
		return command.Problem{Status: http.StatusNotFound, Message: "There is no such counter."}, true
	}
	return command.Problem{}, false
}
