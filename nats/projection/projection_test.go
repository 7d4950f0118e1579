package projection_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	"ironstar/internal/poll"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/es"
	"ironstar/nats/broker"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
	"ironstar/nats/projection"
)

// tally counts the events of each aggregate and chains their IDs into a
// digest, so a value is right only if every event was applied exactly once
// and in order.
type tally struct {
	Count  int    `json:"count"`
	Digest string `json:"digest"`
}

func (t tally) with(env es.Envelope) tally {
	sum := sha256.Sum256([]byte(t.Digest + "|" + env.ID))
	return tally{Count: t.Count + 1, Digest: hex.EncodeToString(sum[:8])}
}

func tallyProjection(name string) projection.Projection[tally] {
	return projection.Projection[tally]{
		Name:     name,
		Subjects: []string{"events.item.>"},
		Keys:     func(env es.Envelope) []string { return []string{env.Stream.ID} },
		Apply: func(_ string, current tally, env es.Envelope) (tally, error) {
			return current.with(env), nil
		},
	}
}

// fold computes what the projection must hold, straight from the store.
func fold(t *testing.T, s *eventstore.Store) map[string]tally {
	t.Helper()
	want := map[string]tally{}
	var after uint64
	for {
		page, err := s.ReadAfter(t.Context(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, env := range page {
			if env.Stream.Aggregate == "item" {
				want[env.Stream.ID] = want[env.Stream.ID].with(env)
			}
			after = env.Sequence
		}
		if len(page) < 1000 {
			return want
		}
	}
}

func values(t *testing.T, js jetstream.JetStream, name string) map[string]tally {
	t.Helper()
	view, err := projection.OpenView[tally](t.Context(), js, name)
	if err != nil {
		t.Fatal(err)
	}
	all, err := view.All(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]tally{}
	for k, e := range all {
		out[k] = e.Value
	}
	return out
}

func same(t *testing.T, got, want map[string]tally) {
	t.Helper()
	if !maps.Equal(got, want) {
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s = %+v, want %+v", k, got[k], w)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected key %s", k)
			}
		}
	}
}

// writer appends events to its own aggregates and tracks their versions.
type writer struct {
	store    *eventstore.Store
	versions map[string]uint64
	n        int
	prefix   string
}

func newWriter(s *eventstore.Store, prefix string) *writer {
	return &writer{store: s, versions: map[string]uint64{}, prefix: prefix}
}

// add appends n events round-robin over k aggregates and returns the last
// sequence.
func (w *writer) add(t *testing.T, n, k int) uint64 {
	t.Helper()
	var last uint64
	for range n {
		w.n++
		agg := fmt.Sprintf("%s%d", w.prefix, w.n%k)
		stream := es.StreamID{Aggregate: "item", ID: agg}
		id := fmt.Sprintf("%s-%d", w.prefix, w.n)
		v, err := w.store.Append(context.Background(), stream, w.versions[agg], []es.Envelope{{ID: id, Type: "item.changed", Version: 1, Data: []byte(`{}`)}})
		if err != nil {
			t.Error(err)
			return last
		}
		w.versions[agg], last = v, v
	}
	return last
}

func opts() projection.Options {
	return projection.Options{BatchSize: 50, AckWait: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)}
}

func start(t *testing.T, js jetstream.JetStream, p projection.Projection[tally]) *projection.Runner[tally] {
	t.Helper()
	r, err := projection.Start(t.Context(), js, p, opts())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	return r
}

func waitFor(t *testing.T, r *projection.Runner[tally], seq uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := r.Wait(ctx, seq); err != nil {
		t.Fatal(err)
	}
}

func TestResumesFromItsCheckpointAfterARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	conn, err := broker.Connect(t.Context(), broker.Options{DataDir: dir}, logger)
	if err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	w := newWriter(store, "a")
	last := w.add(t, 300, 5)
	r, err := projection.Start(t.Context(), conn.JS, tallyProjection("tally"), opts())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, r, last)
	r.Stop(t.Context())
	w.add(t, 200, 5) // while no runner runs
	conn.Close(t.Context())

	// A new process on the same data directory picks up where it stopped.
	conn = natstest.ConnectDir(t, dir)
	store, err = eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	w.store = store
	last = w.add(t, 10, 5)
	r = start(t, conn.JS, tallyProjection("tally"))
	waitFor(t, r, last)
	got := values(t, conn.JS, "tally")
	same(t, got, fold(t, store))
	if got["a0"].Count != 102 {
		t.Errorf("a0 applied %d events, want 102", got["a0"].Count)
	}
}

func TestRedeliveryIsHarmless(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	store, _ := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	last := newWriter(store, "r").add(t, 120, 3)
	r := start(t, conn.JS, tallyProjection("tally"))
	waitFor(t, r, last)
	r.Stop(t.Context())
	before := values(t, conn.JS, "tally")

	// Forget the checkpoint: every event is delivered again.
	if err := conn.JS.DeleteConsumer(t.Context(), eventstore.StreamName, "proj_tally_1"); err != nil {
		t.Fatal(err)
	}
	r = start(t, conn.JS, tallyProjection("tally"))
	waitFor(t, r, last)
	same(t, values(t, conn.JS, "tally"), before)
}

func TestTwoRunnersProduceWhatOneFoldDoes(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	store, _ := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	nc2, js2, err := conn.NewClient("instance-b")
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()

	a := start(t, conn.JS, tallyProjection("tally"))
	b := start(t, js2, tallyProjection("tally"))

	// Four writers append concurrently while both runners run; half-way,
	// runner A stops and B must carry on alone.
	var wg sync.WaitGroup
	lasts := make([]uint64, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWriter(store, fmt.Sprintf("w%d-", i))
			w.add(t, 250, 5)
			if i == 0 {
				a.Stop(t.Context())
			}
			lasts[i] = w.add(t, 250, 5)
		}()
	}
	wg.Wait()
	for _, last := range lasts {
		waitFor(t, b, last)
	}
	got := values(t, conn.JS, "tally")
	same(t, got, fold(t, store))
	if len(got) != 20 {
		t.Errorf("%d keys, want 20", len(got))
	}
	for k, v := range got {
		if v.Count != 100 {
			t.Errorf("%s applied %d events, want 100 (each exactly once)", k, v.Count)
		}
	}
}

func TestRebuildSwapsInAFreshGeneration(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	store, _ := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	w := newWriter(store, "k")
	last := w.add(t, 400, 8)
	r := start(t, conn.JS, tallyProjection("tally"))
	waitFor(t, r, last)
	view, err := projection.OpenView[tally](t.Context(), conn.JS, "tally")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := view.Get(t.Context(), "k1")

	gen, err := projection.Rebuild(t.Context(), conn.JS, tallyProjection("tally"), opts())
	if err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	if gen != 2 {
		t.Errorf("rebuilt generation %d, want 2", gen)
	}
	same(t, values(t, conn.JS, "tally"), fold(t, store))
	if after, err := view.Get(t.Context(), "k1"); err != nil || after != before {
		t.Errorf("the open view reads %+v, %v after the swap; want %+v", after, err, before)
	}
	if _, err := conn.JS.KeyValue(t.Context(), "proj_tally_1"); err == nil {
		t.Error("the old generation's bucket was not deleted")
	}

	// The runner follows the swap and keeps the new generation up to date.
	poll.Until(t, 10*time.Second, "the runner to switch to generation 2", func() bool { return r.Generation() == 2 })
	last = w.add(t, 40, 8)
	waitFor(t, r, last)
	same(t, values(t, conn.JS, "tally"), fold(t, store))
}

// A projection that starts reading its own aggregate only (Subjects) keeps
// its consumer and checkpoint: the running consumer takes the filter, and
// the events after the checkpoint are applied once.
func TestGainsASubjectFilterOnItsRunningConsumer(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	store, err := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	w := newWriter(store, "a")
	unfiltered := tallyProjection("filtered-later")
	unfiltered.Subjects = nil
	r, err := projection.Start(t.Context(), conn.JS, unfiltered, opts())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, r, w.add(t, 100, 5))
	if err := r.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(t.Context(), es.StreamID{Aggregate: "other", ID: "x"}, 0, []es.Envelope{{ID: "other-1", Type: "other.happened", Version: 1, Data: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	last := w.add(t, 50, 5)

	r = start(t, conn.JS, tallyProjection("filtered-later"))
	waitFor(t, r, last)
	same(t, values(t, conn.JS, "filtered-later"), fold(t, store))
	info, err := conn.JS.Consumer(t.Context(), eventstore.StreamName, "proj_filtered-later_1")
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().Config.FilterSubject; got != "events.item.>" {
		t.Errorf("filter = %q, want events.item.>", got)
	}
}

func TestStatusShowsPositionLagAndTheEventsAppliedHere(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	store, _ := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	w := newWriter(store, "s")
	last := w.add(t, 120, 3)
	r := start(t, conn.JS, tallyProjection("tally"))
	waitFor(t, r, last)
	// Wait returns once this runner applied the events; the server learns
	// of it from an acknowledgement sent without waiting.
	var st projection.Status
	var err error
	poll.Until(t, 10*time.Second, "the acknowledgement to reach the server", func() bool {
		st, err = r.Status(t.Context())
		return err != nil || st.Position == last
	})
	if err != nil {
		t.Fatal(err)
	}
	want := projection.Status{Name: "tally", Generation: 1, Position: last, Lag: 0, Applied: 120}
	if st != want {
		t.Errorf("status = %+v, want %+v", st, want)
	}

	// Stopped, it falls behind by what is written meanwhile.
	r.Stop(t.Context())
	w.add(t, 30, 3)
	natstest.Fill(t, conn.JS, "other", 5, 1) // not its subjects: no lag
	// The server counts a consumer's pending messages as it gets round to
	// the new ones, not as each append returns.
	poll.Until(t, 10*time.Second, "the consumer to count 30 pending", func() bool {
		st, err = r.Status(t.Context())
		return err != nil || st.Lag >= 30
	})
	if err != nil || st.Position != last || st.Lag != 30 || st.Applied != 120 {
		t.Errorf("status of a stopped runner 30 events behind = %+v, %v; want position %d, lag 30, applied 120", st, err, last)
	}
}
