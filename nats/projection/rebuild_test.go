package projection_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/es"
	"ironstar/internal/poll"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
	"ironstar/nats/projection"
)

// gate holds a projection's Apply at events past a sequence until opened.
type gate struct {
	after uint64
	open  chan struct{}
	once  sync.Once
}

func newGate(after uint64) *gate { return &gate{after: after, open: make(chan struct{})} }

func (g *gate) wait(env es.Envelope) {
	if env.Sequence > g.after {
		<-g.open
	}
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// gated is p whose Apply waits at g.
func gated(p projection.Projection[tally], g *gate) projection.Projection[tally] {
	apply := p.Apply
	p.Apply = func(key string, current tally, env es.Envelope) (tally, error) {
		g.wait(env)
		return apply(key, current, env)
	}
	return p
}

// doubled is the tally projection's next version: it counts each event
// twice, so that its values tell which version built them.
func doubled(name string, g *gate) projection.Projection[tally] {
	p := gated(tallyProjection(name), g)
	apply := p.Apply
	p.Apply = func(key string, current tally, env es.Envelope) (tally, error) {
		v, err := apply(key, current, env)
		v.Count++
		return v, err
	}
	p.Version = 2
	return p
}

func status(t *testing.T, r projection.Reporter) projection.Status {
	t.Helper()
	st, err := r.Status(t.Context())
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	return st
}

func TestProjectionVersionRaisedRebuildsOnTheNextStartWhileTheOldGenerationServes(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	store, _ := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	w := newWriter(store, "k")
	last := w.add(t, 200, 4)
	v1 := tallyProjection("versioned")
	v1.Version = 1
	r1, err := projection.Start(t.Context(), conn.JS, v1, opts())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, r1, last)
	if st := status(t, r1); st.Generation != 1 || st.Version != 1 {
		t.Fatalf("v1 runs generation %d of version %d, want 1 of 1", st.Generation, st.Version)
	}
	r1.Stop(t.Context())
	built := fold(t, store)

	// v2 starts on the generation v1 built: that one serves, and stays up
	// to date, while v2 rebuilds, held at the gate half way.
	g := newGate(last / 2)
	t.Cleanup(g.release)
	r2 := start(t, conn.JS, doubled("versioned", g))
	poll.Until(t, 10*time.Second, "the rebuild to begin", func() bool {
		st := status(t, r2)
		return st.Rebuild != nil && st.Rebuild.Generation == 2 && st.Rebuild.Version == 2
	})
	if got := values(t, conn.JS, "versioned"); len(got) != len(built) || got["k1"] != built["k1"] {
		t.Errorf("during the rebuild the view reads %+v, want generation 1's %+v", got, built)
	}
	if st := status(t, r2); st.Generation != 1 || st.Version != 1 {
		t.Errorf("during the rebuild the runner applies generation %d (version %d), want 1 (1)", st.Generation, st.Version)
	}

	g.release()
	poll.Until(t, 20*time.Second, "generation 2 to be swapped in, and the rebuild to end", func() bool {
		return r2.Generation() == 2 && status(t, r2).Rebuild == nil
	})
	last = w.add(t, 20, 4)
	waitFor(t, r2, last)
	want := fold(t, store)
	for k, v := range want {
		v.Count *= 2
		want[k] = v
	}
	same(t, values(t, conn.JS, "versioned"), want)
	if st := status(t, r2); st.Version != 2 || st.Rebuild != nil {
		t.Errorf("after the swap: version %d, rebuild %+v; want version 2 and none", st.Version, st.Rebuild)
	}
	if _, err := conn.JS.KeyValue(t.Context(), "proj_versioned_1"); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Errorf("generation 1's bucket: %v, want it deleted", err)
	}

	// The same version again starts no rebuild.
	r2.Stop(t.Context())
	r3 := start(t, conn.JS, doubled("versioned", g))
	if st := status(t, r3); st.Generation != 2 || st.Rebuild != nil {
		t.Errorf("a restart on the same version: generation %d, rebuild %+v; want 2 and none", st.Generation, st.Rebuild)
	}
}

func TestProjectionRebuildReportsProgressAndRunsOnceAtATime(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	store, _ := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	last := newWriter(store, "k").add(t, 300, 6)
	r := start(t, conn.JS, tallyProjection("locked"))
	waitFor(t, r, last)

	g := newGate(150)
	t.Cleanup(g.release)
	o := opts()
	o.MaxBatch = 50 // acknowledged, and reported, every 50 events
	type result struct {
		gen uint64
		err error
	}
	done := make(chan result, 1)
	go func() {
		gen, err := projection.Rebuild(context.Background(), conn.JS, gated(tallyProjection("locked"), g), o)
		done <- result{gen, err}
	}()
	var st projection.Status
	poll.Until(t, 10*time.Second, "progress up to the gate", func() bool {
		st = status(t, r)
		return st.Rebuild != nil && st.Rebuild.Position >= 150
	})
	if p := st.Rebuild; p.Total != last || p.Generation != 2 || p.Position > last || p.Owner == "" {
		t.Errorf("progress %+v, want generation 2, total %d, an owner", p, last)
	}
	// Another rebuild, here or in another instance, is refused meanwhile.
	if _, err := projection.Rebuild(t.Context(), conn.JS, tallyProjection("locked"), opts()); !errors.Is(err, projection.ErrRebuilding) {
		t.Errorf("a second rebuild: %v, want ErrRebuilding", err)
	}
	if _, err := r.Rebuild(t.Context()); !errors.Is(err, projection.ErrRebuilding) {
		t.Errorf("a second rebuild by the runner: %v, want ErrRebuilding", err)
	}
	// The generation being built is not a leftover.
	if leftovers, err := projection.Leftovers(t.Context(), conn.JS, []string{"locked"}); err != nil || len(leftovers) != 0 {
		t.Errorf("leftovers during the rebuild: %+v, %v; want none", leftovers, err)
	}

	g.release()
	res := <-done
	if res.err != nil || res.gen != 2 {
		t.Fatalf("rebuild: generation %d, %v; want 2", res.gen, res.err)
	}
	// Until it follows the swap, the runner asks about a generation that
	// is being deleted.
	poll.Until(t, 10*time.Second, "the runner to follow the swap", func() bool { return r.Generation() == 2 })
	if st := status(t, r); st.Rebuild != nil {
		t.Errorf("the lock outlived the rebuild: %+v", st.Rebuild)
	}
	same(t, values(t, conn.JS, "locked"), fold(t, store))
	// The lock is free again.
	if gen, err := r.Rebuild(t.Context()); err != nil || gen != 3 {
		t.Errorf("the next rebuild: generation %d, %v; want 3", gen, err)
	}
}

func TestProjectionLeftoversOfOldGenerationsAndRenamedProjectionsAreCleanedUp(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	ctx := t.Context()
	store, _ := eventstore.New(ctx, conn.JS, eventstore.Config{})
	last := newWriter(store, "k").add(t, 100, 4)

	// A projection since renamed: its runner ran and stopped for good.
	old := start(t, conn.JS, tallyProjection("old_name"))
	waitFor(t, old, last)
	old.Stop(ctx)
	// The projection the app has, rebuilt, and its generation 1 left
	// behind as by a deletion that failed.
	kept := start(t, conn.JS, tallyProjection("kept"))
	if _, err := kept.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "the runner to follow the swap", func() bool { return kept.Generation() == 2 })
	if _, err := conn.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "proj_kept_1"}); err != nil {
		t.Fatal(err)
	}
	// Buckets not named like a projection's are never touched.
	for _, bucket := range []string{"proj_kept", "proj_kept_x", "sessions_1"} {
		if _, err := conn.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket}); err != nil {
			t.Fatal(err)
		}
	}

	names := []string{"kept"}
	want := []projection.Leftover{
		{Kind: "bucket", Name: "proj_kept_1", Projection: "kept", Generation: 1, Reason: "not the current generation"},
		{Kind: "meta key", Name: "old_name", Projection: "old_name", Reason: "no projection of this app has this name"},
		{Kind: "bucket", Name: "proj_old_name_1", Projection: "old_name", Generation: 1, Reason: "no projection of this app has this name"},
		{Kind: "bucket", Name: "proj_old_name_1_parked", Projection: "old_name", Generation: 1, Reason: "no projection of this app has this name"},
		{Kind: "consumer", Name: "proj_old_name_1", Projection: "old_name", Generation: 1, Reason: "no projection of this app has this name"},
	}
	sortLeftovers := func(l []projection.Leftover) {
		slices.SortFunc(l, func(a, b projection.Leftover) int {
			if a.Kind+a.Name < b.Kind+b.Name {
				return -1
			}
			return 1
		})
	}
	sortLeftovers(want)
	got, err := projection.Leftovers(ctx, conn.JS, names)
	if err != nil {
		t.Fatal(err)
	}
	sortLeftovers(got)
	if !slices.Equal(got, want) {
		t.Fatalf("leftovers:\n%+v\nwant\n%+v", got, want)
	}

	cleaned, err := projection.Cleanup(ctx, conn.JS, names)
	if err != nil {
		t.Fatal(err)
	}
	sortLeftovers(cleaned)
	if !slices.Equal(cleaned, want) {
		t.Errorf("cleaned:\n%+v\nwant\n%+v", cleaned, want)
	}
	if got, err := projection.Leftovers(ctx, conn.JS, names); err != nil || len(got) != 0 {
		t.Errorf("leftovers after the cleanup: %+v, %v; want none", got, err)
	}
	for _, bucket := range []string{"proj_kept", "proj_kept_x", "sessions_1", "proj_kept_2", "proj_kept_2_parked"} {
		if _, err := conn.JS.KeyValue(ctx, bucket); err != nil {
			t.Errorf("bucket %s: %v, want it kept", bucket, err)
		}
	}
	// The current generation still serves and keeps up.
	last = newWriter(store, "m").add(t, 20, 2)
	waitFor(t, kept, last)
	same(t, values(t, conn.JS, "kept"), fold(t, store))
}

// An app that starts no projection any more (its only projection was
// renamed away, or removed) has no runner to make the rebuild locks'
// bucket; its cleanup still runs, making the bucket it locks in.
func TestProjectionCleanupInAnAppThatStartsNoProjection(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	ctx := t.Context()
	store, _ := eventstore.New(ctx, conn.JS, eventstore.Config{})
	last := newWriter(store, "n").add(t, 20, 2)
	gone := start(t, conn.JS, tallyProjection("gone"))
	waitFor(t, gone, last)
	gone.Stop(ctx)
	if err := conn.JS.DeleteKeyValue(ctx, projection.LockBucket); err != nil {
		t.Fatal(err)
	}

	removed, err := projection.Cleanup(ctx, conn.JS, nil)
	if err != nil || len(removed) == 0 {
		t.Fatalf("cleanup with no projection started: removed %v, %v; want the gone projection's resources", removed, err)
	}
	if left, err := projection.Leftovers(ctx, conn.JS, nil); err != nil || len(left) != 0 {
		t.Errorf("leftovers after the cleanup: %v, %v; want none", left, err)
	}
}

func TestProjectionRebuildCancelledWhileTakingItsLockLeavesNone(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	store, _ := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	last := newWriter(store, "c").add(t, 10, 2)
	r := start(t, conn.JS, tallyProjection("cancelled"))
	waitFor(t, r, last)

	// The request that asked for the rebuild ends the moment its lock
	// reaches the server, which is often before the answer reaches the
	// rebuild: the lock must not be left for its TTL all the same.
	for round := range 10 {
		ctx, cancel := context.WithCancel(t.Context())
		sub, err := conn.NC.Subscribe("$KV."+projection.LockBucket+".cancelled", func(*nats.Msg) { cancel() })
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.NC.Flush(); err != nil {
			t.Fatal(err)
		}
		_, err = projection.Rebuild(ctx, conn.JS, tallyProjection("cancelled"), opts())
		cancel()
		_ = sub.Unsubscribe()
		if err == nil {
			continue // it finished before the cancellation told
		}
		if st := status(t, r); st.Rebuild != nil {
			t.Fatalf("round %d: the rebuild ended (%v) but its lock stays: %+v", round, err, st.Rebuild)
		}
	}
}
