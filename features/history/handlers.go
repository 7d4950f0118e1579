package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"ironstar/es"
	common "ironstar/features/common/components"
	"ironstar/features/common/layouts"
	"ironstar/features/feature"
	"ironstar/features/history/pages"
	"ironstar/sse"
)

type handlers struct {
	logger    *slog.Logger
	events    es.Store
	registry  *es.Registry
	histories map[string]feature.History
}

// listWindow is how many events the page lists around the selected one:
// an aggregate's history may be long, and the slider reaches all of it.
const listWindow = 25

// errorID is the id of the page's error line.
const errorID = "history-error"

// page is the history of one aggregate at ?at= (a stream sequence; the
// latest event without it).
func (h *handlers) page(w http.ResponseWriter, r *http.Request) {
	t, err := h.load(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pos := len(t.events)
	if s := r.URL.Query().Get("at"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err == nil {
			pos, err = t.positionAt(n)
		} else {
			err = fmt.Errorf("%w: ?at=%q is not a stream sequence", errBadPosition, s)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
	}
	vm, err := h.viewModel(t, pos)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page := layouts.Page{Title: "History of " + t.stream.String(), Path: r.URL.Path}
	if err := pages.Page(page, vm).Render(r.Context(), w); err != nil {
		h.logger.DebugContext(r.Context(), "history: render page", "err", err)
	}
}

// point answers the slider and the step links (Datastar requests): the
// aggregate at ?pos= (1 for its first event), and the signals that move
// the slider and the page's URL there.
func (h *handlers) point(w http.ResponseWriter, r *http.Request) {
	t, err := h.load(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pos, err := strconv.Atoi(r.URL.Query().Get("pos"))
	if err != nil {
		h.fail(w, r, fmt.Errorf("%w: ?pos=%q", errBadPosition, r.URL.Query().Get("pos")))
		return
	}
	vm, err := h.viewModel(t, pos)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	frame, err := sse.Patch(0, pages.Point(vm))
	if err != nil {
		h.fail(w, r, fmt.Errorf("render %s at %d: %w", t.stream, pos, err))
		return
	}
	signals, _ := json.Marshal(pages.Signals{Pos: vm.Pos, At: vm.Event.Seq}) // ints always encode
	sse.NewReply(clearedError, frame, sse.PatchSignals(0, signals)).Write(w)
}

// clearedError hides the error line once a fetch went through.
var clearedError = sse.MustPatch(common.Alert(errorID, ""))

// load reads the aggregate the request's path names: all its events, as a
// command's load without a snapshot does.
func (h *handlers) load(r *http.Request) (timeline, error) {
	stream := es.StreamID{Aggregate: chi.URLParam(r, "aggregate"), ID: chi.URLParam(r, "id")}
	if err := stream.Validate(); err != nil {
		return timeline{}, err
	}
	hist, ok := h.histories[stream.Aggregate]
	if !ok {
		return timeline{}, fmt.Errorf("%w: %q (the types with a history: %s)", errUnknownAggregate, stream.Aggregate, strings.Join(h.types(), ", "))
	}
	events, _, err := h.events.Load(r.Context(), stream, 0)
	if err != nil {
		return timeline{}, fmt.Errorf("load %s: %w", stream, err)
	}
	if len(events) == 0 {
		return timeline{}, fmt.Errorf("%w: %s", errNoEvents, stream)
	}
	return timeline{stream: stream, events: events, hist: hist}, nil
}

// types are the aggregate types with a history, sorted.
func (h *handlers) types() []string {
	types := make([]string, 0, len(h.histories))
	for name := range h.histories {
		types = append(types, name)
	}
	slices.Sort(types)
	return types
}

// viewModel is the aggregate at position pos, with the events around it.
func (h *handlers) viewModel(t timeline, pos int) (pages.PointVM, error) {
	point, err := t.at(h.registry, pos)
	if err != nil {
		return pages.PointVM{}, err
	}
	state := point.View
	if state == nil {
		data, err := json.MarshalIndent(point.State, "", "  ")
		if err != nil {
			return pages.PointVM{}, fmt.Errorf("%s at %d: the state does not encode as JSON: %w", t.stream, pos, err)
		}
		state = pages.JSON(string(data))
	}
	vm := pages.PointVM{
		Path:   "/history/" + t.stream.Aggregate + "/" + t.stream.ID,
		Stream: t.stream.String(),
		Pos:    pos, Total: len(t.events),
		Event: eventVM(t.events, pos),
		State: state,
	}
	if pos > 1 {
		vm.Prev = eventVM(t.events, pos-1)
	}
	if pos < len(t.events) {
		vm.Next = eventVM(t.events, pos+1)
	}
	// A window of listWindow events, the selected one in its middle where
	// the history allows.
	first := max(1, pos-listWindow/2)
	last := min(len(t.events), first+listWindow-1)
	first = max(1, last-listWindow+1)
	for p := first; p <= last; p++ {
		vm.Events = append(vm.Events, eventVM(t.events, p))
	}
	vm.Earlier, vm.Later = first-1, len(t.events)-last
	return vm, nil
}

// eventVM is the event at position pos (1-based) of events.
func eventVM(events []es.Envelope, pos int) pages.EventVM {
	e := events[pos-1]
	return pages.EventVM{
		Pos: pos, Seq: e.Sequence, Type: e.Type, Version: e.Version, OccurredAt: e.Meta.OccurredAt,
		CommandID: e.Meta.CommandID, CorrelationID: e.Meta.CorrelationID, Session: e.Meta.Session,
		Data: string(common.IndentJSON(e.Data)),
	}
}

// fail is the one place where a history request's error becomes an
// answer: a page saying why, or (to a Datastar request) the error line,
// which Datastar morphs into the page.
func (h *handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, message := problem(err)
	if status >= http.StatusInternalServerError {
		h.logger.ErrorContext(r.Context(), "history", "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Header.Get("Datastar-Request") != "" {
		common.Alert(errorID, message).Render(r.Context(), w)
		return
	}
	pages.Problem(layouts.Page{Title: "History", Path: r.URL.Path}, message).Render(r.Context(), w)
}

// problem is the status and message an error is answered with. The
// operator sees the history's own errors as they are (they name the
// aggregate and the sequence); the store's are logged instead.
func problem(err error) (int, string) {
	switch {
	case errors.Is(err, es.ErrInvalidStreamID):
		return http.StatusBadRequest, "That is not an aggregate type and ID: each is 1 to 128 of A-Z, a-z, 0-9, _ and -."
	case errors.Is(err, errBadPosition):
		return http.StatusBadRequest, sentence(err)
	case errors.Is(err, errUnknownAggregate), errors.Is(err, errNoEvents), errors.Is(err, errBeforeFirst):
		return http.StatusNotFound, sentence(err)
	case errors.Is(err, es.ErrUndecodable):
		return http.StatusServiceUnavailable, "This aggregate's history holds an event this version of the app cannot read; the error is logged."
	}
	return http.StatusServiceUnavailable, "The event store did not answer; try again in a moment. The error is logged."
}

// sentence is one of the history's errors as the page says it.
func sentence(err error) string {
	s := strings.TrimPrefix(err.Error(), "history: ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}
