// Package storetest is the contract every es.Store passes: the JetStream
// store runs it against a real embedded server, the in-memory store against
// itself. A store that passes can stand in for the other in tests.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"ironstar/es"
)

// Store is what the suite exercises: an es.Store that can also be read in
// order.
type Store interface {
	es.Store
	// ReadAfter returns up to limit events whose Sequence is above after,
	// in order. Fewer than limit means the end was reached.
	ReadAfter(ctx context.Context, after uint64, limit int) ([]es.Envelope, error)
}

// Run runs the contract. newStore returns an empty store for one subtest.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("append then load round-trips every field", func(t *testing.T) { roundTrip(t, newStore(t)) })
	t.Run("an outdated expected version is a conflict and stores nothing", func(t *testing.T) { conflict(t, newStore(t)) })
	t.Run("a multi-event append is all or nothing", func(t *testing.T) { atomicBatch(t, newStore(t)) })
	t.Run("50 concurrent writers lose no write", func(t *testing.T) { concurrentWriters(t, newStore(t)) })
	t.Run("an event ID already stored is stored once, a conflict past the expected version", func(t *testing.T) { duplicate(t, newStore(t)) })
	t.Run("read after a sequence, in order across aggregates", func(t *testing.T) { readAfter(t, newStore(t)) })
	t.Run("load after a version returns only the events since", func(t *testing.T) { loadAfter(t, newStore(t)) })
	t.Run("invalid stream ids are refused", func(t *testing.T) { invalidIDs(t, newStore(t)) })
}

var occurred = time.Date(2026, 11, 27, 12, 0, 0, 123456789, time.UTC)

// event builds an envelope as the command helper would.
func event(id, typ string, data string) es.Envelope {
	return es.Envelope{
		ID: id, Type: typ, Version: 1, Data: json.RawMessage(data),
		Meta: es.Metadata{CommandID: "cmd-" + id, CorrelationID: "corr-" + id, Session: "sess", OccurredAt: occurred},
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
	// send it: with the version it was first sent with, which it outdated.
	// A conflict, never an acknowledgement past the expected version, which
	// the command helper would take for its own new append.
	if v, err := s.Append(ctx, stream, 0, []es.Envelope{e}); !errors.Is(err, es.ErrConcurrency) {
		t.Errorf("the same event with the version before it = %d, %v; want ErrConcurrency", v, err)
	}
	// With the version it made: acknowledged at its first position.
	if v, err := s.Append(ctx, stream, v1, []es.Envelope{e}); err != nil || v != v1 {
		t.Errorf("the same event with the current version = %d, %v; want its first position %d", v, err, v1)
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

// counted is a Store that counts the loads and the conflicts it answers,
// and a SnapshotStore that records the states it saved: what a test of
// the Handler's cache looks at. Everything goes through to the real ones.
type counted struct {
	Store
	es.SnapshotStore
	mu                          sync.Mutex
	loads, snapLoads, conflicts int
	saved                       []string
}

func (c *counted) Load(ctx context.Context, stream es.StreamID, after uint64) ([]es.Envelope, uint64, error) {
	c.mu.Lock()
	c.loads++
	c.mu.Unlock()
	return c.Store.Load(ctx, stream, after)
}

func (c *counted) Append(ctx context.Context, stream es.StreamID, expected uint64, events []es.Envelope) (uint64, error) {
	v, err := c.Store.Append(ctx, stream, expected, events)
	if errors.Is(err, es.ErrConcurrency) {
		c.mu.Lock()
		c.conflicts++
		c.mu.Unlock()
	}
	return v, err
}

func (c *counted) LoadSnapshot(ctx context.Context, stream es.StreamID) (es.Snapshot, bool, error) {
	c.mu.Lock()
	c.snapLoads++
	c.mu.Unlock()
	return c.SnapshotStore.LoadSnapshot(ctx, stream)
}

func (c *counted) SaveSnapshot(ctx context.Context, stream es.StreamID, snap es.Snapshot) error {
	c.mu.Lock()
	c.saved = append(c.saved, string(snap.State))
	c.mu.Unlock()
	return c.SnapshotStore.SaveSnapshot(ctx, stream, snap)
}

// reads is how many loads and snapshot loads were made, and conflicts answered.
func (c *counted) reads() (loads, snapLoads, conflicts int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loads, c.snapLoads, c.conflicts
}

// atLeast ticks Ticks times if the counter is at AtLeast or more, and is
// refused otherwise.
type atLeast struct{ Ticks, AtLeast int }

var errTooFew = errors.New("too few ticks")

// RunCache checks the Handler's cache of aggregates on a store and a
// snapshot store: a command on an aggregate the Handler remembers reads
// nothing; one written meanwhile by another process (another Handler) is
// a conflict, reloaded, and the command still succeeds on the right
// state; a refusal on the remembered state is decided again on the loaded
// one; a retried command is still recognised, from memory; the least
// recently used aggregate is forgotten when the cache is full; and
// snapshots are saved at the same events as without a cache.
func RunCache(t *testing.T, s Store, snaps es.SnapshotStore) {
	ctx := t.Context()
	reg := es.NewRegistry()
	es.Register[tick](reg, "tick.ticked", 1)
	counter := es.Decider[int, atLeast, tick]{
		Decide: func(n int, c atLeast) ([]tick, error) {
			if n < c.AtLeast {
				return nil, errTooFew
			}
			var out []tick
			for i := range c.Ticks {
				out = append(out, tick{N: n + i + 1})
			}
			return out, nil
		},
		Evolve: func(n int, e tick) int { return e.N },
	}
	c := &counted{Store: s, SnapshotStore: snaps}
	st := es.Storage{Store: c, Snapshots: c, Registry: reg, SnapshotEvery: 10}
	one := func(h *es.Handler[int, atLeast, tick], stream es.StreamID, id string, cmd atLeast) es.Result[int] {
		t.Helper()
		res, err := h.Handle(ctx, stream, cmd, es.Metadata{CommandID: id})
		if err != nil {
			t.Fatalf("command %s on %s: %v", id, stream, err)
		}
		return res
	}

	t.Run("a remembered aggregate is decided on without a read, and a conflict reloads it", func(t *testing.T) {
		stream := es.StreamID{Aggregate: "cache", ID: "warm"}
		h := es.NewHandler(st, counter, 1)
		one(h, stream, "w0", atLeast{Ticks: 1})
		loads, snapLoads, _ := c.reads()
		for i := range 5 {
			one(h, stream, fmt.Sprintf("w%d", i+1), atLeast{Ticks: 1})
		}
		if l, sl, _ := c.reads(); l != loads || sl != snapLoads {
			t.Errorf("5 commands on a remembered aggregate made %d loads and %d snapshot loads; want none", l-loads, sl-snapLoads)
		}
		if res := one(h, stream, "w3", atLeast{Ticks: 1}); !res.Duplicate || res.State != 6 {
			t.Errorf("w3 again = %+v; want a duplicate, state 6, recognised from memory", res)
		}

		// Another process writes three ticks: this one's memory is stale.
		one(es.NewHandler(st, counter, 1), stream, "other", atLeast{Ticks: 3})
		loads, _, conflicts := c.reads()
		res := one(h, stream, "w6", atLeast{Ticks: 1})
		l, _, cf := c.reads()
		if res.State != 10 || res.Duplicate || cf != conflicts+1 || l != loads+1 {
			t.Errorf("w6 after another process wrote = state %d (duplicate %v) after %d conflicts and %d loads; want state 10 after 1 conflict and 1 load",
				res.State, res.Duplicate, cf-conflicts, l-loads)
		}
		// The other process's command, retried here, is one (the reload saw it).
		if res := one(h, stream, "other", atLeast{Ticks: 3}); !res.Duplicate || res.State != 10 {
			t.Errorf("the other process's command retried here = %+v; want a duplicate at state 10", res)
		}
	})

	t.Run("a refusal on the remembered state is decided again on the loaded one", func(t *testing.T) {
		stream := es.StreamID{Aggregate: "cache", ID: "refusal"}
		h := es.NewHandler(st, counter, 1)
		one(h, stream, "r0", atLeast{Ticks: 5})
		one(es.NewHandler(st, counter, 1), stream, "r1", atLeast{Ticks: 3}) // now 8; h remembers 5
		if res := one(h, stream, "r2", atLeast{Ticks: 1, AtLeast: 8}); res.State != 9 {
			t.Errorf("a command allowed at 8, on a handler remembering 5 = state %d; want 9", res.State)
		}
		if _, err := h.Handle(ctx, stream, atLeast{Ticks: 1, AtLeast: 100}, es.Metadata{CommandID: "r3"}); !errors.Is(err, errTooFew) {
			t.Errorf("a command refused on the loaded state too = %v; want errTooFew", err)
		}
	})

	t.Run("the least recently used aggregate is forgotten first", func(t *testing.T) {
		small := st
		small.CacheSize = 2
		h := es.NewHandler(small, counter, 1)
		a, b, d := es.StreamID{Aggregate: "cache", ID: "lru-a"}, es.StreamID{Aggregate: "cache", ID: "lru-b"}, es.StreamID{Aggregate: "cache", ID: "lru-c"}
		for _, stream := range []es.StreamID{a, b, d} { // a is forgotten
			one(h, stream, "first", atLeast{Ticks: 1})
		}
		loads, _, _ := c.reads()
		one(h, d, "second", atLeast{Ticks: 1})
		if l, _, _ := c.reads(); l != loads {
			t.Errorf("a command on the most recent aggregate made %d loads; want none", l-loads)
		}
		if res := one(h, a, "second", atLeast{Ticks: 1}); res.State != 2 {
			t.Errorf("a, forgotten and reloaded = state %d; want 2", res.State)
		}
		if l, _, _ := c.reads(); l != loads+1 {
			t.Errorf("a command on the forgotten aggregate made %d loads; want 1", l-loads)
		}
	})

	t.Run("snapshots are saved at the same events as without a cache", func(t *testing.T) {
		run := func(cacheSize int, id string) []string {
			sized := st
			sized.CacheSize = cacheSize
			h := es.NewHandler(sized, counter, 1)
			stream := es.StreamID{Aggregate: "cache", ID: id}
			c.mu.Lock()
			c.saved = nil
			c.mu.Unlock()
			for i := range 35 {
				ticks := 1 + i%3 // commands of one to three events
				one(h, stream, fmt.Sprintf("%s-%d", id, i), atLeast{Ticks: ticks})
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			return slices.Clone(c.saved)
		}
		cached, uncached := run(0, "snap-cached"), run(-1, "snap-uncached")
		if len(cached) < 5 || !slices.Equal(cached, uncached) {
			t.Errorf("snapshots saved at states %v with a cache, %v without; want the same, every 10 events", cached, uncached)
		}
	})
}
