// Package storetest is the contract every es.Store passes: the JetStream
// store runs it against a real embedded server, the in-memory store against
// itself. A store that passes can stand in for the other in tests.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"ironstar/es"
)

// Store is what the suite exercises: an es.Store that can also be read in
// order.
type Store interface {
	es.Store
	es.Reader
}

// Run runs the contract. newStore returns an empty store for one subtest.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("append then load round-trips every field", func(t *testing.T) { roundTrip(t, newStore(t)) })
	t.Run("an outdated expected version is a conflict and stores nothing", func(t *testing.T) { conflict(t, newStore(t)) })
	t.Run("a multi-event append is all or nothing", func(t *testing.T) { atomicBatch(t, newStore(t)) })
	t.Run("50 concurrent writers lose no write", func(t *testing.T) { concurrentWriters(t, newStore(t)) })
	t.Run("an event ID already stored is stored once", func(t *testing.T) { duplicate(t, newStore(t)) })
	t.Run("read after a sequence, in order across aggregates", func(t *testing.T) { readAfter(t, newStore(t)) })
	t.Run("load after a version returns only the events since", func(t *testing.T) { loadAfter(t, newStore(t)) })
	t.Run("invalid stream ids are refused", func(t *testing.T) { invalidIDs(t, newStore(t)) })
}

var occurred = time.Date(2026, 11, 27, 12, 0, 0, 123456789, time.UTC)

// event builds an envelope as the command helper would.
func event(id, typ string, data string) es.Envelope {
	return es.Envelope{
		ID: id, Type: typ, Version: 1, Data: json.RawMessage(data),
		Meta: es.Metadata{CommandID: "cmd-" + id, CorrelationID: "corr-" + id, CausationID: "cause-" + id, Session: "sess", OccurredAt: occurred},
	}
}

func roundTrip(t *testing.T, s Store) {
	ctx := t.Context()
	stream := es.StreamID{Aggregate: "todo", ID: "list-1"}
	if events, version, err := s.Load(ctx, stream, 0); err != nil || len(events) != 0 || version != 0 {
		t.Fatalf("Load(new) = %v, %d, %v; want nothing at version 0", events, version, err)
	}
	in := []es.Envelope{event("e1", "todo.added", `{"text":"milk"}`), event("e2", "todo.completed", `{"id":"1"}`)}
	in[1].Version = 3
	version, err := s.Append(ctx, stream, 0, in)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	out, loaded, err := s.Load(ctx, stream, 0)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if loaded != version || len(out) != 2 {
		t.Fatalf("Load = %d events at version %d; want 2 at %d", len(out), loaded, version)
	}
	if out[0].Sequence == 0 || out[1].Sequence <= out[0].Sequence || out[1].Sequence != version {
		t.Errorf("sequences %d, %d with version %d: want increasing, the last equal to the version", out[0].Sequence, out[1].Sequence, version)
	}
	for i := range in {
		want := in[i]
		want.Stream, want.Sequence = stream, out[i].Sequence
		if err := sameEnvelope(out[i], want); err != nil {
			t.Errorf("event %d: %v", i, err)
		}
	}
}

func sameEnvelope(got, want es.Envelope) error {
	if got.ID != want.ID || got.Stream != want.Stream || got.Type != want.Type || got.Version != want.Version || got.Sequence != want.Sequence {
		return fmt.Errorf("got %+v, want %+v", got, want)
	}
	if string(got.Data) != string(want.Data) {
		return fmt.Errorf("data %s, want %s", got.Data, want.Data)
	}
	if !got.Meta.OccurredAt.Equal(want.Meta.OccurredAt) {
		return fmt.Errorf("occurred at %v, want %v", got.Meta.OccurredAt, want.Meta.OccurredAt)
	}
	got.Meta.OccurredAt, want.Meta.OccurredAt = time.Time{}, time.Time{}
	if got.Meta != want.Meta {
		return fmt.Errorf("metadata %+v, want %+v", got.Meta, want.Meta)
	}
	return nil
}

func conflict(t *testing.T, s Store) {
	ctx := t.Context()
	stream := es.StreamID{Aggregate: "todo", ID: "list-1"}
	v1, err := s.Append(ctx, stream, 0, []es.Envelope{event("e1", "todo.added", `{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, stream, 0, []es.Envelope{event("e2", "todo.added", `{}`)}); !errors.Is(err, es.ErrConcurrency) {
		t.Errorf("Append expecting 0 on a stream at %d = %v, want ErrConcurrency", v1, err)
	}
	v2, err := s.Append(ctx, stream, v1, []es.Envelope{event("e3", "todo.added", `{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, stream, v1, []es.Envelope{event("e4", "todo.added", `{}`)}); !errors.Is(err, es.ErrConcurrency) {
		t.Errorf("Append expecting %d on a stream at %d = %v, want ErrConcurrency", v1, v2, err)
	}
	// Another aggregate's version is independent.
	if _, err := s.Append(ctx, es.StreamID{Aggregate: "todo", ID: "list-2"}, 0, []es.Envelope{event("e5", "todo.added", `{}`)}); err != nil {
		t.Errorf("Append to a second aggregate: %v", err)
	}
	events, version, _ := s.Load(ctx, stream, 0)
	if len(events) != 2 || version != v2 || events[0].ID != "e1" || events[1].ID != "e3" {
		t.Errorf("after conflicts: %d events at %d, want e1, e3 at %d", len(events), version, v2)
	}
}

func atomicBatch(t *testing.T, s Store) {
	ctx := t.Context()
	stream := es.StreamID{Aggregate: "todo", ID: "batch"}
	batch := []es.Envelope{event("b1", "todo.added", `{"n":1}`), event("b2", "todo.added", `{"n":2}`), event("b3", "todo.added", `{"n":3}`)}
	version, err := s.Append(ctx, stream, 0, batch)
	if err != nil {
		t.Fatalf("Append(3 events): %v", err)
	}
	events, loaded, _ := s.Load(ctx, stream, 0)
	if len(events) != 3 || loaded != version {
		t.Fatalf("Load = %d events at %d, want 3 at %d", len(events), loaded, version)
	}
	for i := 1; i < 3; i++ {
		if events[i].Sequence != events[i-1].Sequence+1 {
			t.Errorf("batch not contiguous: sequences %d then %d", events[i-1].Sequence, events[i].Sequence)
		}
	}
	stale := []es.Envelope{event("s1", "todo.added", `{}`), event("s2", "todo.added", `{}`)}
	if _, err := s.Append(ctx, stream, 0, stale); !errors.Is(err, es.ErrConcurrency) {
		t.Fatalf("stale batch: %v, want ErrConcurrency", err)
	}
	if events, _, _ := s.Load(ctx, stream, 0); len(events) != 3 {
		t.Errorf("a refused batch left %d events, want 3", len(events))
	}
}

func concurrentWriters(t *testing.T, s Store) {
	ctx := t.Context()
	stream := es.StreamID{Aggregate: "counter", ID: "contended"}
	const writers = 50
	var (
		start     = make(chan struct{})
		loaded    sync.WaitGroup // the first round: everyone loads, then everyone appends
		wg        sync.WaitGroup
		mu        sync.Mutex
		conflicts int
		accepted  = map[uint64]string{} // version → event ID
		failures  []error
	)
	loaded.Add(writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			id := fmt.Sprintf("w%02d", w)
			for round := 0; ; round++ {
				_, version, err := s.Load(ctx, stream, 0)
				if round == 0 {
					loaded.Done()
					loaded.Wait()
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
					return
				}
				newVersion, err := s.Append(ctx, stream, version, []es.Envelope{event(id, "counter.incremented", `{}`)})
				mu.Lock()
				switch {
				case err == nil:
					if other, taken := accepted[newVersion]; taken {
						failures = append(failures, fmt.Errorf("version %d accepted for %s and %s", newVersion, other, id))
					}
					accepted[newVersion] = id
				case errors.Is(err, es.ErrConcurrency):
					conflicts++
				default:
					failures = append(failures, err)
				}
				mu.Unlock()
				if !errors.Is(err, es.ErrConcurrency) {
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range failures {
		t.Error(err)
	}
	events, _, err := s.Load(ctx, stream, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != writers || len(accepted) != writers {
		t.Fatalf("stored %d events, accepted %d; want %d of each", len(events), len(accepted), writers)
	}
	for _, e := range events {
		if accepted[e.Sequence] != e.ID {
			t.Errorf("stored %s at %d, but that version was acknowledged for %q", e.ID, e.Sequence, accepted[e.Sequence])
		}
	}
	// All 50 loaded version 0 before anyone appended: one wins that round.
	if conflicts < writers-1 {
		t.Errorf("%d conflicts, want at least %d", conflicts, writers-1)
	}
	t.Logf("%d writers, %d conflicts", writers, conflicts)
}

func duplicate(t *testing.T, s Store) {
	ctx := t.Context()
	stream := es.StreamID{Aggregate: "todo", ID: "dup"}
	e := event("same-id", "todo.added", `{}`)
	v1, err := s.Append(ctx, stream, 0, []es.Envelope{e})
	if err != nil {
		t.Fatal(err)
	}
	// The same event again, as a retry after a lost acknowledgement would
	// send it: with the version it was first sent with.
	v2, err := s.Append(ctx, stream, 0, []es.Envelope{e})
	if err != nil && !errors.Is(err, es.ErrConcurrency) {
		t.Fatalf("second Append of the same event: %v", err)
	}
	if err == nil && v2 != v1 {
		t.Errorf("second Append acknowledged at %d, want the first position %d", v2, v1)
	}
	if events, _, _ := s.Load(ctx, stream, 0); len(events) != 1 {
		t.Errorf("stored %d copies, want 1", len(events))
	}
}

// loadAfter is what a snapshot relies on: a load from the snapshot's
// version returns the aggregate's later events only, and its version.
func loadAfter(t *testing.T, s Store) {
	ctx := t.Context()
	a, b := es.StreamID{Aggregate: "todo", ID: "a"}, es.StreamID{Aggregate: "todo", ID: "b"}
	var va, vb uint64
	var mid uint64
	for i := range 6 {
		var err error
		if va, err = s.Append(ctx, a, va, []es.Envelope{event(fmt.Sprintf("a%d", i), "todo.added", `{}`)}); err != nil {
			t.Fatal(err)
		}
		if vb, err = s.Append(ctx, b, vb, []es.Envelope{event(fmt.Sprintf("b%d", i), "todo.added", `{}`)}); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			mid = va
		}
	}
	events, version, err := s.Load(ctx, a, mid)
	if err != nil || version != va || fmt.Sprint(ids(events)) != "[a3 a4 a5]" {
		t.Errorf("Load(a, after %d) = %v at %d, %v; want [a3 a4 a5] at %d", mid, ids(events), version, err, va)
	}
	if events, version, err := s.Load(ctx, a, va); err != nil || len(events) != 0 || version != va {
		t.Errorf("Load(a, after its version %d) = %v at %d, %v; want nothing at %d", va, ids(events), version, err, va)
	}
}

func readAfter(t *testing.T, s Store) {
	ctx := t.Context()
	a, b := es.StreamID{Aggregate: "todo", ID: "a"}, es.StreamID{Aggregate: "counter", ID: "b"}
	var versions = map[es.StreamID]uint64{}
	var order []string
	for i := range 10 {
		stream := a
		if i%3 == 0 {
			stream = b
		}
		id := fmt.Sprintf("r%d", i)
		v, err := s.Append(ctx, stream, versions[stream], []es.Envelope{event(id, "x.happened", `{}`)})
		if err != nil {
			t.Fatal(err)
		}
		versions[stream] = v
		order = append(order, id)
	}
	all, err := s.ReadAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 10 {
		t.Fatalf("ReadAfter(0) = %d events, want 10", len(all))
	}
	for i, e := range all {
		if e.ID != order[i] {
			t.Errorf("event %d is %s, want %s (append order)", i, e.ID, order[i])
		}
		if i > 0 && e.Sequence <= all[i-1].Sequence {
			t.Errorf("sequence %d after %d", e.Sequence, all[i-1].Sequence)
		}
	}
	page, err := s.ReadAfter(ctx, all[3].Sequence, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 4 || page[0].ID != all[4].ID || page[3].ID != all[7].ID {
		t.Errorf("ReadAfter(seq of 4th, limit 4) = %v, want events 5–8", ids(page))
	}
	if tail, _ := s.ReadAfter(ctx, all[9].Sequence, 10); len(tail) != 0 {
		t.Errorf("ReadAfter(last) = %v, want none", ids(tail))
	}
}

func ids(events []es.Envelope) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func invalidIDs(t *testing.T, s Store) {
	ctx := context.Background()
	for _, stream := range []es.StreamID{
		{Aggregate: "todo", ID: ""}, {Aggregate: "", ID: "x"}, {Aggregate: "todo", ID: "a.b"},
		{Aggregate: "todo", ID: "a*"}, {Aggregate: "todo", ID: "a b"}, {Aggregate: "to>do", ID: "x"},
	} {
		if _, err := s.Append(ctx, stream, 0, []es.Envelope{event("bad", "x", `{}`)}); !errors.Is(err, es.ErrInvalidStreamID) {
			t.Errorf("Append(%q) = %v, want ErrInvalidStreamID", stream, err)
		}
		if _, _, err := s.Load(ctx, stream, 0); !errors.Is(err, es.ErrInvalidStreamID) {
			t.Errorf("Load(%q) = %v, want ErrInvalidStreamID", stream, err)
		}
	}
}

// RunSnapshots is the contract of an es.SnapshotStore.
func RunSnapshots(t *testing.T, s es.SnapshotStore) {
	ctx := t.Context()
	a := es.StreamID{Aggregate: "todo", ID: "snap"}
	if _, ok, err := s.LoadSnapshot(ctx, a); ok || err != nil {
		t.Fatalf("LoadSnapshot(new) = %v, %v; want none", ok, err)
	}
	first := es.Snapshot{Version: 10, Schema: 2, State: json.RawMessage(`{"n":1}`), Commands: []string{"c1", "c2"}}
	second := es.Snapshot{Version: 20, Schema: 2, State: json.RawMessage(`{"n":2}`), Commands: []string{"c3"}}
	for _, want := range []es.Snapshot{first, second} {
		if err := s.SaveSnapshot(ctx, a, want); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.LoadSnapshot(ctx, a)
		if err != nil || !ok || got.Version != want.Version || got.Schema != want.Schema || string(got.State) != string(want.State) || fmt.Sprint(got.Commands) != fmt.Sprint(want.Commands) {
			t.Errorf("LoadSnapshot = %+v, %v, %v; want %+v", got, ok, err, want)
		}
	}
	if _, ok, _ := s.LoadSnapshot(ctx, es.StreamID{Aggregate: "todo", ID: "other"}); ok {
		t.Error("another aggregate has a snapshot")
	}
}

// tick is the one event of RunHandler's aggregate, a counter.
type tick struct {
	N int `json:"n"`
}

// RunHandler checks what es.Handler relies on from a store and a snapshot
// store together: a handler built with es.NewHandler snapshots without
// being asked to, a later command loads only the events since, and a
// retried command is recognised across snapshots, whether the snapshot
// remembers it or only the store's duplicate detection does (for a command
// of one event and for one of several).
func RunHandler(t *testing.T, s Store, snaps es.SnapshotStore) {
	ctx := t.Context()
	reg := es.NewRegistry()
	es.Register[tick](reg, "tick.ticked", 1)
	st := es.Storage{Store: s, Snapshots: snaps, Registry: reg, SnapshotEvery: 10}
	// A command is how many ticks to add, one event each.
	counter := es.Decider[int, int, tick]{
		Decide: func(n, ticks int) ([]tick, error) {
			var out []tick
			for i := range ticks {
				out = append(out, tick{N: n + i + 1})
			}
			return out, nil
		},
		Evolve: func(n int, e tick) int { return e.N },
	}
	h := es.NewHandler(st, counter, 1)
	stream := es.StreamID{Aggregate: "tick", ID: "t1"}
	const commands, events = 150, 151 // c1 ticks twice
	for i := range commands {
		ticks := 1
		if i == 1 {
			ticks = 2
		}
		if _, err := h.Handle(ctx, stream, ticks, es.Metadata{CommandID: fmt.Sprintf("c%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	_, version, err := s.Load(ctx, stream, 0)
	if err != nil {
		t.Fatal(err)
	}
	snap, ok, err := snaps.LoadSnapshot(ctx, stream)
	if err != nil || !ok || string(snap.State) != "150" || len(snap.Commands) != es.RecentCommands || snap.Commands[0] != "c49" {
		t.Fatalf("snapshot = %+v, %v, %v; want state 150 remembering the %d commands from c49", snap, ok, err, es.RecentCommands)
	}

	// c149 came after the snapshot; c145 and c60 are among the last 100 it
	// remembers; c2 and c1 (two events) only the store's duplicate
	// detection knows.
	for _, id := range []string{"c149", "c145", "c60", "c2", "c1"} {
		res, err := h.Handle(ctx, stream, 2, es.Metadata{CommandID: id})
		if err != nil || !res.Duplicate || res.State != events || res.Version != version {
			t.Errorf("retry of %s = %+v, %v; want a duplicate at version %d, state %d", id, res, err, version, events)
		}
	}
	if stored, _, _ := s.Load(ctx, stream, 0); len(stored) != events {
		t.Fatalf("stored %d events after the retries, want %d", len(stored), events)
	}

	// The same command ID on another aggregate is another command.
	other := es.StreamID{Aggregate: "tick", ID: "t2"}
	if res, err := h.Handle(ctx, other, 1, es.Metadata{CommandID: "c0"}); err != nil || res.Duplicate || res.State != 1 {
		t.Errorf("c0 on another aggregate = %+v, %v; want it stored there", res, err)
	}
	if stored, _, _ := s.Load(ctx, other, 0); len(stored) != 1 {
		t.Errorf("stored %d events on the other aggregate, want 1", len(stored))
	}

	// Another process, sharing only the stores, goes on from the snapshot.
	for i := range 5 {
		res, err := es.NewHandler(st, counter, 1).Handle(ctx, stream, 1, es.Metadata{CommandID: fmt.Sprintf("more%d", i)})
		if err != nil || res.State != events+i+1 {
			t.Fatalf("command %d after the snapshot = %+v, %v; want state %d", i, res, err, events+i+1)
		}
	}
	since, _, err := s.Load(ctx, stream, snap.Version)
	if err != nil || len(since) != 6 || since[0].Meta.CommandID != "c149" {
		t.Errorf("Load after the snapshot = %d events, %v; want the 6 since, from c149", len(since), err)
	}
}
