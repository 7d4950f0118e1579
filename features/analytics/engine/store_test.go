package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"ironstar/es"
	"ironstar/features/analytics/dashboard"
	"ironstar/features/todo"
	"ironstar/internal/logbuf"
	"ironstar/internal/poll"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// todoTypes are the names todo's registry stores Added and Completed
// under: the history below is typed as the app writes it, so a rename in
// todo that the dashboard's queries missed fails TestQueriesOnKnownData.
var todoTypes = func() (names struct{ added, completed string }) {
	r := es.NewRegistry()
	todo.Register(r)
	names.added, _, _, _ = r.Encode(todo.Added{})
	names.completed, _, _, _ = r.Encode(todo.Completed{})
	return names
}()

// known is a small history: two lists, three sessions, over three minutes.
func known() []es.Envelope {
	ev := func(seq uint64, min int, typ, agg, id, session string) es.Envelope {
		return es.Envelope{ID: fmt.Sprint(seq), Sequence: seq, Type: typ, Version: 1, Data: json.RawMessage(`{}`),
			Stream: es.StreamID{Aggregate: agg, ID: id}, Meta: es.Metadata{Session: session, OccurredAt: t0.Add(time.Duration(min) * time.Minute)}}
	}
	added, completed := todoTypes.added, todoTypes.completed
	return []es.Envelope{
		ev(1, 0, added, todo.Aggregate, "l1", "s1"),
		ev(2, 0, added, todo.Aggregate, "l1", "s1"),
		ev(3, 1, completed, todo.Aggregate, "l1", "s1"),
		ev(4, 1, added, todo.Aggregate, "l2", "s2"),
		ev(5, 1, "counter.incremented", "counter", "global", "s3"),
		ev(6, 2, completed, todo.Aggregate, "l2", "s2"),
		ev(7, 2, "counter.incremented", "counter", "global", "s1"),
	}
}

func TestQueriesOnKnownData(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, e := range known() {
		if err := s.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	s.Flush()
	d, err := s.Dashboard(t.Context(), t0.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if d.Events != 7 || d.Seq != 7 || d.ActiveSessions != 3 {
		t.Errorf("events %d, seq %d, sessions %d; want 7, 7, 3", d.Events, d.Seq, d.ActiveSessions)
	}
	wantFlow := []dashboard.Flow{{Minute: t0, Added: 2}, {Minute: t0.Add(time.Minute), Added: 1, Completed: 1}, {Minute: t0.Add(2 * time.Minute), Completed: 1}}
	if fmt.Sprint(d.TodoFlow) != fmt.Sprint(wantFlow) {
		t.Errorf("todo flow = %v, want %v", d.TodoFlow, wantFlow)
	}
	if fmt.Sprint(d.BusiestLists) != "[{l1 3} {l2 2}]" {
		t.Errorf("busiest lists = %v", d.BusiestLists)
	}
	if len(d.PerMinute) != 6 || d.PerMinute[0] != (dashboard.TypeCount{Minute: t0, Type: todoTypes.added, Count: 2}) || d.PerMinute[5] != (dashboard.TypeCount{Minute: t0.Add(2 * time.Minute), Type: todoTypes.completed, Count: 1}) {
		t.Errorf("per minute = %v", d.PerMinute)
	}
	// Outside the window, the time-based figures are empty.
	late, _ := s.Dashboard(t.Context(), t0.Add(2*time.Hour))
	if len(late.PerMinute) != 0 || late.ActiveSessions != 0 || late.Events != 7 {
		t.Errorf("two hours later: %+v", late)
	}
}

func TestAppendSkipsWhatItHasAndResumes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "analytics.duckdb")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range known()[:4] {
		s.Append(e)
	}
	s.Flush()
	s.Close()

	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Checkpoint() != 4 {
		t.Fatalf("checkpoint after reopening = %d, want 4", s.Checkpoint())
	}
	for _, e := range known() { // overlaps the stored ones
		s.Append(e)
	}
	s.Flush()
	var n int
	s.DB().QueryRow(`SELECT count(*) FROM events`).Scan(&n)
	if n != 7 {
		t.Errorf("%d rows after an overlapping replay, want 7", n)
	}
}

// TestTheCopyFollowsTheStreamAndRebuildsADeletedFile runs the copier
// on real JetStream.
func TestTheCopyFollowsTheStreamAndRebuildsADeletedFile(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	events, err := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	last := natstest.Fill(t, conn.JS, "todo", 500, 10)
	path := filepath.Join(t.TempDir(), "analytics.duckdb")

	run := func(want uint64) {
		t.Helper()
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			Copier{Store: s, Events: events, Logger: slog.New(slog.DiscardHandler)}.Run(ctx)
		}()
		poll.Until(t, 30*time.Second, fmt.Sprintf("the copy to reach sequence %d", want), func() bool { return s.Checkpoint() >= want })
		cancel()
		<-done
		var n uint64
		s.DB().QueryRow(`SELECT count(*) FROM events`).Scan(&n)
		if n != want {
			t.Errorf("%d rows, want %d", n, want)
		}
		s.Close()
	}
	run(last)
	// More events while it is stopped; a restart resumes.
	last = natstest.Fill(t, conn.JS, "counter", 100, 1)
	run(last)
	// The file is gone: the stream rebuilds it.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	os.Remove(path + ".wal")
	run(last)
}

func TestACopyFarBehindLogsItsProgressThenThatItCaughtUp(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	events, err := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	last := natstest.Fill(t, conn.JS, "todo", catchUpBehind+2000, 100)
	s, err := Open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	logs := &logbuf.Buffer{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Copier{Store: s, Events: events, ProgressEvery: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, nil))}.Run(ctx)
	}()
	defer func() { cancel(); <-done }()
	poll.Until(t, 30*time.Second, "a caught-up line", func() bool { return logs.Count("analytics: caught up") > 0 })
	first := fmt.Sprintf(`msg="analytics: catching up" position=0 total=%d behind=%d`, last, last)
	// Caught up means within a tenth of the threshold of the end: the copy
	// may be a few hundred events short when it looks.
	caughtUp := regexp.MustCompile(fmt.Sprintf(`msg="analytics: caught up" position=(\d+) total=%d events=(\d+) took=\S+ events_per_second=\d+`, last))
	var position uint64
	m := caughtUp.FindStringSubmatch(logs.String())
	if m != nil {
		fmt.Sscan(m[1], &position)
	}
	if logs.Count(first+"\n") != 1 || m == nil || m[1] != m[2] || position+catchUpBehind/10 < last {
		t.Errorf("want a line when it starts %d behind and one when it is within %d of the end:\n%s", last, catchUpBehind/10, logs)
	}
}
