package eventlog

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/a-h/templ"

	"ironstar/command"
	"ironstar/es"
	"ironstar/features/common/layouts"
	"ironstar/features/eventlog/components"
	"ironstar/features/eventlog/pages"
	"ironstar/sse"
)

type handlers struct {
	logger *slog.Logger
	store  store
}

// rowsSelector is the list the stream and the older pages add rows to.
const rowsSelector = "#event-rows"

// trimSelector picks the rows past the keepRows-th.
var trimSelector = rowsSelector + " > :nth-child(n+" + strconv.Itoa(keepRows+1) + ")"

// page renders the newest page of the log, up to the newest event stored,
// with the stream that continues right after it. A filter it cannot use
// gets the form back with the reason, as a 400.
func (h *handlers) page(w http.ResponseWriter, r *http.Request) {
	layout := layouts.Page{Title: "Event log", Path: "/events"}
	q := r.URL.Query()
	f, err := parseFilter(q)
	vm := pages.LogVM{Aggregate: q.Get("aggregate"), ID: q.Get("id"), Type: q.Get("type")}
	if err != nil {
		vm.Problem = err.Error()
		w.WriteHeader(http.StatusBadRequest)
		h.render(w, r, layout, vm)
		return
	}
	last, err := h.store.LastSequence(r.Context())
	var p page
	if err == nil {
		p, err = readPage(r.Context(), h.store, f, last+1, pageSize)
	}
	if err != nil {
		command.Unreadable(w, r, h.logger, "the event log", err)
		return
	}
	vm.Body = pageBody(p, last+1)
	vm.StreamURL = "/events/updates?" + f.Query("after", strconv.FormatUint(streamAfter(p, last), 10))
	if f.Active() {
		vm.Query = "&" + f.Query()
	}
	h.render(w, r, layout, vm)
}

// streamAfter is where the page's stream starts: after the newest event the
// page shows, but at most a scan window before the stream's last sequence.
// Not at last itself: the page is read with direct gets, which on a
// cluster a replica a little behind may answer, and the events it did not
// have yet must come with the stream. Not further back either: with a
// filter whose newest match is old, the stream would replay everything
// since to find nothing.
func streamAfter(p page, last uint64) uint64 {
	after := last - min(last, scanWindow)
	if len(p.Events) > 0 {
		after = max(after, p.Events[0].Sequence)
	}
	return after
}

func (h *handlers) render(w http.ResponseWriter, r *http.Request, layout layouts.Page, vm pages.LogVM) {
	if err := pages.EventLog(layout, vm).Render(r.Context(), w); err != nil {
		h.logger.DebugContext(r.Context(), "eventlog: render page", "err", err)
	}
}

// older answers the Older button: the page of events before the sequence
// before, appended to the list.
func (h *handlers) older(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := parseFilter(q)
	var before uint64
	if err == nil {
		before, err = parseSequence(q, "before")
	}
	if err == nil && before == 0 {
		err = badRequest("before is the sequence the page ends at: 1 or more.")
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p, err := readPage(r.Context(), h.store, f, before, pageSize)
	if err != nil {
		command.Unreadable(w, r, h.logger, "the event log", err)
		return
	}
	html, err := renderHTML(pageBody(p, before))
	if err != nil {
		h.logger.ErrorContext(r.Context(), "eventlog: render older", "err", err)
		http.Error(w, "the page cannot be drawn", http.StatusInternalServerError)
		return
	}
	sse.NewReply(sse.PatchElementsAt(0, rowsSelector, "append", html)).Write(w)
}

// updates is the log's stream: the events after the one the browser saw
// last (Last-Event-ID, when it reconnects), or after the newest its page
// showed (after), or from now on; replayed, then live.
func (h *handlers) updates(w http.ResponseWriter, r *http.Request) {
	f, after, resume, err := streamRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sse.Stream(w, r, h.logger, func(ctx context.Context) (<-chan sse.Frame, error) {
		if !resume {
			last, err := h.store.LastSequence(ctx)
			if err != nil {
				return nil, err
			}
			after = last
		}
		return tail(ctx, h.store, h.logger, f, after, h.frame), nil
	})
}

// streamRequest reads a stream request: its filter and the sequence it
// resumes after; resume is false when it names none (the stream then
// starts at the newest event).
func streamRequest(r *http.Request) (f Filter, after uint64, resume bool, err error) {
	q := r.URL.Query()
	if f, err = parseFilter(q); err != nil {
		return Filter{}, 0, false, err
	}
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if after, err = sequence("Last-Event-ID", id); err != nil {
			return Filter{}, 0, false, err
		}
		return f, after, true, nil
	}
	if q.Has("after") {
		after, err = parseSequence(q, "after")
		return f, after, err == nil, err
	}
	return f, 0, false, nil
}

// frame draws events (oldest first) as one frame: their rows on top of
// the list, newest first, with the last one's sequence as the frame's id;
// trim also removes the rows past keepRows.
// A frame that cannot be drawn is an error: sent without its rows, its id
// would move the browser's Last-Event-ID past events it never showed.
func (h *handlers) frame(events []es.Envelope, trim bool) (sse.Frame, error) {
	newestFirst := make([]es.Envelope, len(events))
	for i, e := range events {
		newestFirst[len(events)-1-i] = e
	}
	html, err := renderHTML(components.Rows(rows(newestFirst)))
	if err != nil {
		return sse.Frame{}, fmt.Errorf("eventlog: render rows: %w", err)
	}
	last := events[len(events)-1].Sequence
	f := sse.PatchElementsAt(last, rowsSelector, "prepend", html)
	if trim {
		f.Data = append(f.Data, sse.PatchElementsAt(0, trimSelector, "remove", nil).Data...)
	}
	return f, nil
}

// renderHTML draws c.
func renderHTML(c templ.Component) ([]byte, error) {
	var b bytes.Buffer
	err := c.Render(context.Background(), &b)
	return b.Bytes(), err
}
