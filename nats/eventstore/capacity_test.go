package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"ironstar/internal/poll"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/es"
	"ironstar/internal/logbuf"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
)

// A capped stream refuses new events with es.ErrStoreFull and keeps every
// old one; the watcher warns well before and says when it is full.
func TestCappedStreamRefusesNewEventsAndKeepsOldOnes(t *testing.T) {
	conn := natstest.Connect(t)
	ctx := t.Context()
	const maxBytes = 32 << 10
	s, err := eventstore.New(ctx, conn.JS, eventstore.Config{MaxBytes: maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logbuf.Buffer{}
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	go s.WatchCapacity(watchCtx, 10*time.Millisecond, 0.8, slog.New(slog.NewTextHandler(logs, nil)))

	stream := es.StreamID{Aggregate: "todo", ID: "big"}
	payload := []byte(`{"title":"` + strings.Repeat("x", 400) + `"}`)
	var version uint64
	var stored int
	var refusal error
	warned := false
	for i := 0; refusal == nil; i++ {
		if i > 1000 {
			t.Fatal("a 32 KiB stream took 1000 events of 400 bytes")
		}
		env := es.Envelope{ID: fmt.Sprintf("e%d", i), Type: "todo.added", Version: 1, Data: payload, Meta: es.Metadata{CommandID: fmt.Sprintf("c%d", i)}}
		seq, err := s.Append(ctx, stream, version, []es.Envelope{env})
		if err != nil {
			refusal = err
			break
		}
		version, stored = seq, stored+1
		if size, _, err := s.Usage(ctx); err == nil && !warned && size > maxBytes*85/100 {
			// Past 80 % and not full: the warning comes, and only it.
			waitLog(t, logs, "event store filling up")
			if strings.Contains(logs.String(), "event store full") {
				t.Fatalf("full reported at %d of %d bytes:\n%s", size, maxBytes, logs)
			}
			warned = true
		}
	}
	if !warned {
		t.Fatalf("the stream went from below 85 %% to refusing in one event (%d stored)", stored)
	}
	if !errors.Is(refusal, es.ErrStoreFull) {
		t.Fatalf("append at the cap = %v; want es.ErrStoreFull", refusal)
	}
	// A command of several events (an atomic batch) is refused alike.
	two := []es.Envelope{
		{ID: "b1", Type: "todo.added", Version: 1, Data: payload, Meta: es.Metadata{CommandID: "cb"}},
		{ID: "b2", Type: "todo.added", Version: 1, Data: payload, Meta: es.Metadata{CommandID: "cb"}},
	}
	if _, err := s.Append(ctx, stream, version, two); !errors.Is(err, es.ErrStoreFull) {
		t.Fatalf("batch append at the cap = %v; want es.ErrStoreFull", err)
	}
	events, _, err := s.Load(ctx, stream, 0)
	if err != nil || len(events) != stored || events[0].ID != "e0" {
		t.Fatalf("after refusals Load = %d events (first %v), %v; want all %d from e0", len(events), firstID(events), err, stored)
	}
	waitLog(t, logs, "event store full")
	if n := strings.Count(logs.String(), "event store filling up"); n != 1 {
		t.Errorf("the warning was logged %d times; want once per crossing:\n%s", n, logs)
	}
}

// Opening an existing stream sets the cap and discard-new on it, deleting
// nothing even when the stream is already larger than the cap.
func TestOpeningCapsAnExistingStreamWithoutDroppingEvents(t *testing.T) {
	conn := natstest.Connect(t)
	ctx := t.Context()
	s, err := eventstore.New(ctx, conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	last := natstest.Fill(t, conn.JS, "todo", 200, 4)
	s, err = eventstore.New(ctx, conn.JS, eventstore.Config{MaxBytes: 4 << 10})
	if err != nil {
		t.Fatalf("reopen with a cap: %v", err)
	}
	info, err := conn.JS.Stream(ctx, eventstore.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	cfg, state := info.CachedInfo().Config, info.CachedInfo().State
	if cfg.MaxBytes != 4<<10 || cfg.Discard != jetstream.DiscardNew {
		t.Errorf("config MaxBytes %d discard %v; want 4096, discard new", cfg.MaxBytes, cfg.Discard)
	}
	if state.Msgs != 200 || state.LastSeq != last {
		t.Errorf("stream holds %d messages up to %d; want 200 up to %d", state.Msgs, state.LastSeq, last)
	}
	_, err = s.Append(ctx, es.StreamID{Aggregate: "todo", ID: "new"}, 0, []es.Envelope{{ID: "n1", Type: "todo.added", Version: 1, Data: []byte(`{}`), Meta: es.Metadata{CommandID: "n"}}})
	if !errors.Is(err, es.ErrStoreFull) {
		t.Errorf("append over the cap = %v; want es.ErrStoreFull", err)
	}
}

func firstID(events []es.Envelope) string {
	if len(events) == 0 {
		return ""
	}
	return events[0].ID
}

// waitLog polls the log until it contains want, for at most 10 s.
func waitLog(t *testing.T, logs *logbuf.Buffer, want string) {
	t.Helper()
	if !poll.Within(10*time.Second, func() bool { return strings.Contains(logs.String(), want) }) {
		t.Fatalf("the log never said %q:\n%s", want, logs)
	}
}

// While the store reports itself unwritable, appends fail at once with
// es.ErrUnavailable (a 503 with Retry-After) and store nothing.
func TestAppendFailsFastWhileTheStoreIsNotWritable(t *testing.T) {
	conn := natstest.Connect(t)
	ctx := t.Context()
	broken := errors.New("stream stuck on a write error")
	var down bool
	s, err := eventstore.New(ctx, conn.JS, eventstore.Config{Writable: func(context.Context) error {
		if down {
			return broken
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	stream := es.StreamID{Aggregate: "todo", ID: "l"}
	env := func(id string) []es.Envelope {
		return []es.Envelope{{ID: id, Type: "todo.added", Version: 1, Data: []byte(`{}`), Meta: es.Metadata{CommandID: id}}}
	}
	if _, err := s.Append(ctx, stream, 0, env("a")); err != nil {
		t.Fatal(err)
	}
	down = true
	if _, err := s.Append(ctx, stream, 1, env("b")); !errors.Is(err, es.ErrUnavailable) || !errors.Is(err, broken) {
		t.Fatalf("append while not writable = %v; want es.ErrUnavailable wrapping the cause", err)
	}
	down = false
	events, _, err := s.Load(ctx, stream, 0)
	if err != nil || len(events) != 1 {
		t.Fatalf("Load = %d events, %v; want only the first", len(events), err)
	}
}
