package eventlog

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/es"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
	"ironstar/sse"
)

func TestEventLogFilterKeepsToItsSubject(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		query, subject, problem string
	}{
		{"", "events.>", ""},
		{"aggregate=todo", "events.todo.>", ""},
		{"aggregate=todo&id=list-7", "events.todo.list-7", ""},
		{"type=todo.added", "events.>", ""},
		{"id=list-7", "", "needs its aggregate type"},
		{"aggregate=todo.*", "", "aggregate type or ID"},
		{"aggregate=>", "", "aggregate type or ID"},
		{"aggregate=todo&id=a.>", "", "aggregate type or ID"},
		{"aggregate=todo&id=a%20b", "", "aggregate type or ID"},
		{"aggregate=" + strings.Repeat("a", 129), "", "aggregate type or ID"},
		{"type=todo added", "", "event type"},
		{"type=%3Cscript%3E", "", "event type"},
	} {
		q, _ := url.ParseQuery(c.query)
		f, err := parseFilter(q)
		switch {
		case c.problem == "" && err != nil:
			t.Errorf("%q: %v, want subject %s", c.query, err, c.subject)
		case c.problem == "" && f.Subject() != c.subject:
			t.Errorf("%q: subject %s, want %s", c.query, f.Subject(), c.subject)
		case c.problem != "" && (err == nil || !strings.Contains(err.Error(), c.problem)):
			t.Errorf("%q: %v, want an error saying %q", c.query, err, c.problem)
		}
	}
}

// testLog is an event store and the versions of the aggregates it holds.
type testLog struct {
	t        *testing.T
	store    *eventstore.Store
	js       jetstream.JetStream
	versions map[es.StreamID]uint64
	written  int
}

func newTestLog(t *testing.T) *testLog {
	t.Helper()
	conn := natstest.Connect(t)
	s, err := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{t: t, store: s, js: conn.JS, versions: map[es.StreamID]uint64{}}
}

// write appends one event to aggregate/id of type typ, and returns its
// sequence.
func (l *testLog) write(aggregate, id, typ string) uint64 {
	l.t.Helper()
	stream := es.StreamID{Aggregate: aggregate, ID: id}
	l.written++
	seq, err := l.store.Append(l.t.Context(), stream, l.versions[stream], []es.Envelope{{
		ID: "e" + strconv.Itoa(l.written), Type: typ, Version: 1, Data: []byte(`{"n":` + strconv.Itoa(l.written) + `}`),
		Meta: es.Metadata{CommandID: "c" + strconv.Itoa(l.written), OccurredAt: time.Now()},
	}})
	if err != nil {
		l.t.Fatal(err)
	}
	l.versions[stream] = seq
	return seq
}

// fill writes n events, every third on todo/a as todo.added, the others on
// counter/b..d as counter.incremented; it returns todo/a's sequences.
func (l *testLog) fill(n int) (todoA []uint64) {
	l.t.Helper()
	for i := range n {
		if i%3 == 0 {
			todoA = append(todoA, l.write("todo", "a", "todo.added"))
			continue
		}
		l.write("counter", string(rune('b'+i%3)), "counter.incremented")
	}
	return todoA
}

// allPages reads the log back page by page, from before, as the Older
// button does, and returns the sequences in the order shown.
func allPages(t *testing.T, s store, f Filter, before uint64) []uint64 {
	t.Helper()
	var seen []uint64
	for pages := 0; before != 0; pages++ {
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		p, err := readPage(t.Context(), s, f, before, pageSize)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Events) > pageSize {
			t.Fatalf("a page of %d events, more than %d", len(p.Events), pageSize)
		}
		for _, e := range p.Events {
			seen = append(seen, e.Sequence)
		}
		before = p.Next
	}
	return seen
}

func TestEventLogPagesBackThroughEveryWindowOnce(t *testing.T) {
	t.Parallel()
	l := newTestLog(t)
	todoA := l.fill(2100) // more than two windows
	last := uint64(2100)

	want := make([]uint64, 0, last)
	for seq := last; seq >= 1; seq-- {
		want = append(want, seq)
	}
	if got := allPages(t, l.store, Filter{}, last+1); !slices.Equal(got, want) {
		t.Errorf("every page, unfiltered: %d events %v…, want %d newest first", len(got), got[:min(len(got), 5)], len(want))
	}
	slices.Reverse(todoA)
	for _, f := range []Filter{{Aggregate: "todo"}, {Aggregate: "todo", ID: "a"}, {Type: "todo.added"}} {
		if got := allPages(t, l.store, f, last+1); !slices.Equal(got, todoA) {
			t.Errorf("every page of %+v: %d events %v…, want todo/a's %d newest first", f, len(got), got[:min(len(got), 5)], len(todoA))
		}
	}
	// A page from the middle ends where asked, and the next goes on below
	// its oldest event.
	p, err := readPage(t.Context(), l.store, Filter{}, 1000, pageSize)
	if err != nil {
		t.Fatal(err)
	}
	if p.Events[0].Sequence != 999 || p.Events[pageSize-1].Sequence != 950 || p.Next != 950 {
		t.Errorf("the page before 1000 holds %d..%d and goes on before %d, want 999..950 and 950", p.Events[0].Sequence, p.Events[len(p.Events)-1].Sequence, p.Next)
	}
}

// TestEventLogBoundsTheWorkOfAPage: a filter that matches nothing in the
// newest scanEvents events gives a page that ends at the lowest sequence
// scanned, marked as such; the next page finds the match below it.
func TestEventLogBoundsTheWorkOfAPage(t *testing.T) {
	t.Parallel()
	l := newTestLog(t)
	rare := l.write("todo", "a", "todo.cleared")
	last := natstest.Fill(t, l.js, "noise", scanEvents+500, 10)
	f := Filter{Type: "todo.cleared"}
	p, err := readPage(t.Context(), l.store, f, last+1, pageSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != 0 || p.Next != last+1-scanEvents {
		t.Fatalf("the first page holds %d events and goes on before %d, want none and %d (scanned %d events)", len(p.Events), p.Next, last+1-scanEvents, scanEvents)
	}
	html, err := renderHTML(pageBody(p, last+1))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`class="event-scan" data-seq="%d"`, p.Next); !strings.Contains(string(html), want) {
		t.Errorf("the page's body lacks the scan marker %s:\n%s", want, html)
	}
	if got := allPages(t, l.store, f, p.Next); !slices.Equal(got, []uint64{rare}) {
		t.Errorf("the pages below = %v, want the one match, %d", got, rare)
	}
}

// collect reads frames until it has seen want events, and returns their
// sequences in the order the rows would stand in the list after each
// frame's prepend (read back oldest first), with the frames' ids.
func collect(t *testing.T, frames <-chan sse.Frame, want int) (seqs []uint64, ids []uint64) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	rowSeq := regexp.MustCompile(`data-seq="(\d+)"`)
	for len(seqs) < want {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("the stream ended after %d events, want %d", len(seqs), want)
			}
			var batch []uint64
			for _, m := range rowSeq.FindAllStringSubmatch(string(f.Data), -1) {
				n, _ := strconv.ParseUint(m[1], 10, 64)
				batch = append(batch, n)
			}
			slices.Reverse(batch) // rows come newest first
			seqs = append(seqs, batch...)
			ids = append(ids, f.Seq)
			if !strings.Contains(string(f.Data), "id: "+strconv.FormatUint(f.Seq, 10)+"\n") || f.Seq != batch[len(batch)-1] {
				t.Fatalf("frame id %d, want the last event's, %d:\n%s", f.Seq, batch[len(batch)-1], f.Data)
			}
		case <-timeout:
			t.Fatalf("%d events within 10s, want %d: %v", len(seqs), want, seqs)
		}
	}
	return seqs, ids
}

// TestEventLogStreamResumesAfterTheLastEventItSent: a stream replays the
// matching events after its start, in order, in frames whose id is the
// last sequence they carry, then goes live; a second one started after a
// frame's id (a reconnect with Last-Event-ID) goes on exactly from there.
func TestEventLogStreamResumesAfterTheLastEventItSent(t *testing.T) {
	t.Parallel()
	l := newTestLog(t)
	todoA := l.fill(600)
	h := &handlers{logger: slog.New(slog.DiscardHandler), store: l.store}
	f := Filter{Aggregate: "todo", ID: "a"}

	ctx, cancel := context.WithCancel(t.Context())
	seqs, ids := collect(t, tail(ctx, l.store, h.logger, f, 0, h.frame), len(todoA))
	if !slices.Equal(seqs, todoA) {
		t.Fatalf("replayed %v, want todo/a's %v", seqs, todoA)
	}
	if len(ids) < 2 {
		t.Errorf("%d events came in %d frames: want the replay batched, in more than one frame of at most %d", len(seqs), len(ids), frameEvents)
	}
	cancel()

	resumeAt := ids[len(ids)/2]
	frames := tail(t.Context(), l.store, h.logger, f, resumeAt, h.frame)
	var wantAfter []uint64
	for _, seq := range todoA {
		if seq > resumeAt {
			wantAfter = append(wantAfter, seq)
		}
	}
	live := l.fill(30) // written while it replays: each is sent once, in order
	wantAfter = append(wantAfter, live...)
	if got, _ := collect(t, frames, len(wantAfter)); !slices.Equal(got, wantAfter) {
		t.Errorf("resumed after %d: %v, want %v", resumeAt, got, wantAfter)
	}
	// Nothing comes twice after them either: the next frame holds only the
	// next event.
	next := l.fill(1)
	if got, _ := collect(t, frames, 1); !slices.Equal(got, next) {
		t.Errorf("after the resumed events came %v, want only the next one, %v", got, next)
	}
}

// TestEventLogFrameTrimsTheListOnlyWhenItMayBeLong: the remove rides
// along only once the stream has sent enough rows to pass keepRows.
func TestEventLogFrameTrimsTheListOnlyWhenItMayBeLong(t *testing.T) {
	t.Parallel()
	h := &handlers{logger: slog.New(slog.DiscardHandler)}
	events := []es.Envelope{{Sequence: 7, Stream: es.StreamID{Aggregate: "todo", ID: "a"}, Type: "todo.added", Version: 1, Data: []byte(`{"title":"<b>x</b>"}`)}}
	shortFrame, err := h.frame(events, false)
	if err != nil {
		t.Fatal(err)
	}
	longFrame, err := h.frame(events, true)
	if err != nil {
		t.Fatal(err)
	}
	short, long := string(shortFrame.Data), string(longFrame.Data)
	if strings.Contains(short, "mode remove") || !strings.Contains(long, "data: selector "+trimSelector+"\ndata: mode remove\n") {
		t.Errorf("frames without and with the trim:\n%s\n%s", short, long)
	}
	if strings.Contains(short, "<b>") || !strings.Contains(short, "&lt;b&gt;") {
		t.Errorf("the payload is not escaped:\n%s", short)
	}
}

func TestEventLogStreamStartsAfterThePageButNotFarBack(t *testing.T) {
	t.Parallel()
	newest := func(seq uint64) page { return page{Events: []es.Envelope{{Sequence: seq}}} }
	for _, tc := range []struct {
		name string
		p    page
		last uint64
		want uint64
	}{
		{"the page shows the newest event", newest(5000), 5000, 5000},
		{"a replica behind answered the page", newest(4990), 5000, 4990},
		{"the newest match is old", newest(12), 5000, 5000 - scanWindow},
		{"nothing matches", page{}, 5000, 5000 - scanWindow},
		{"a short log", page{}, 40, 0},
	} {
		if got := streamAfter(tc.p, tc.last); got != tc.want {
			t.Errorf("%s: streamAfter = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestEventLogRefusesASequenceWithNoneAfterIt(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest(http.MethodGet, "/events/updates", nil)
	req.Header.Set("Last-Event-ID", "18446744073709551615")
	if _, _, _, err := streamRequest(req); err == nil {
		t.Error("Last-Event-ID 2^64-1 was accepted: the sequence after it wraps to 0")
	}
}
