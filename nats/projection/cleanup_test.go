package projection_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/internal/poll"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
	"ironstar/nats/projection"
)

// generationOf lists the consumer and buckets of one generation of name as
// leftovers of an old generation.
func generationOf(name, resource string, generation uint64) []projection.Leftover {
	old := "not the current generation"
	return []projection.Leftover{
		{Kind: "consumer", Name: resource, Projection: name, Generation: generation, Reason: old},
		{Kind: "bucket", Name: resource, Projection: name, Generation: generation, Reason: old},
		{Kind: "bucket", Name: resource + "_parked", Projection: name, Generation: generation, Reason: old},
	}
}

// generationExists fails the test unless the generation's consumer and
// buckets exist.
func generationExists(t *testing.T, js jetstream.JetStream, resource string) {
	t.Helper()
	if _, err := js.Consumer(t.Context(), eventstore.StreamName, resource); err != nil {
		t.Errorf("consumer %s: %v, want it kept", resource, err)
	}
	for _, bucket := range []string{resource, resource + "_parked"} {
		if _, err := js.KeyValue(t.Context(), bucket); err != nil {
			t.Errorf("bucket %s: %v, want it kept", bucket, err)
		}
	}
}

// gateOpts acknowledge, and so report, a rebuild's progress every 50
// events.
func gateOpts() projection.Options {
	o := opts()
	o.MaxBatch = 50
	return o
}

// atGate waits until the rebuild r's status shows has reached a gate at
// event 100.
func atGate(t *testing.T, r projection.Reporter) {
	t.Helper()
	poll.Until(t, 10*time.Second, "the rebuild to reach the gate", func() bool {
		st := status(t, r)
		return st.Rebuild != nil && st.Rebuild.Position >= 100
	})
}

func TestProjectionCleanupKeepsAGenerationSwappedInAfterItsListing(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	store, _ := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	w := newWriter(store, "k")
	last := w.add(t, 100, 4)
	r := start(t, conn.JS, tallyProjection("raced"))
	waitFor(t, r, last)

	// A cleanup listed while generation 1 served and no lock was held yet
	// (or any more): generation 2, which a rebuild then swapped in, was
	// listed as an old one.
	stale := append(generationOf("raced", "proj_raced_1", 1), generationOf("raced", "proj_raced_2", 2)...)
	if gen, err := r.Rebuild(t.Context()); err != nil || gen != 2 {
		t.Fatalf("rebuild: generation %d, %v; want 2", gen, err)
	}
	removed, err := projection.CleanUpListed(t.Context(), conn.JS, stale)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range removed {
		if l.Generation == 2 {
			t.Errorf("the cleanup removed %+v of the serving generation", l)
		}
	}
	generationExists(t, conn.JS, "proj_raced_2")
	poll.Until(t, 10*time.Second, "the runner to follow the swap", func() bool { return r.Generation() == 2 })
	last = w.add(t, 20, 4)
	waitFor(t, r, last)
	same(t, values(t, conn.JS, "raced"), fold(t, store))
}

func TestProjectionCleanupBesideRebuildsLeavesTheGenerationsInUse(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	store, _ := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	w := newWriter(store, "k")
	last := w.add(t, 200, 4)
	r := start(t, conn.JS, tallyProjection("busy"))
	waitFor(t, r, last)
	names := []string{"busy"}

	// A rebuild held half way: a cleanup leaves its half-built generation.
	g := newGate(100)
	t.Cleanup(g.release)
	done := make(chan error, 1)
	go func() {
		_, err := projection.Rebuild(context.Background(), conn.JS, gated(tallyProjection("busy"), g), gateOpts())
		done <- err
	}()
	atGate(t, r)
	if removed, err := projection.Cleanup(t.Context(), conn.JS, names); err != nil || len(removed) != 0 {
		t.Errorf("a cleanup during the rebuild removed %+v, %v; want nothing", removed, err)
	}
	generationExists(t, conn.JS, "proj_busy_2")
	g.release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Cleanups over and over while the projection is rebuilt three times.
	stop := make(chan struct{})
	var cleanups sync.WaitGroup
	var cleanupErr error
	cleanups.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := projection.Cleanup(context.Background(), conn.JS, names); err != nil {
				cleanupErr = err
				return
			}
		}
	})
	for want := uint64(3); want <= 5; want++ {
		var gen uint64
		poll.Until(t, 20*time.Second, "a rebuild the cleanup does not hold off", func() bool {
			var err error
			gen, err = r.Rebuild(t.Context())
			if err != nil && !errors.Is(err, projection.ErrRebuilding) {
				t.Fatalf("rebuild: %v", err)
			}
			return err == nil
		})
		if gen != want {
			t.Fatalf("rebuilt generation %d, want %d", gen, want)
		}
		poll.Until(t, 10*time.Second, "the runner to follow the swap", func() bool { return r.Generation() == want })
		last = w.add(t, 10, 4)
		waitFor(t, r, last)
		same(t, values(t, conn.JS, "busy"), fold(t, store))
	}
	close(stop)
	cleanups.Wait()
	if cleanupErr != nil {
		t.Errorf("cleanup: %v", cleanupErr)
	}
	generationExists(t, conn.JS, "proj_busy_5")
}

func TestProjectionRebuildThatLostItsLockDoesNotSwap(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	ctx := t.Context()
	store, _ := eventstore.New(ctx, conn.JS, eventstore.Config{})
	last := newWriter(store, "k").add(t, 200, 4)
	r := start(t, conn.JS, tallyProjection("stalled"))
	waitFor(t, r, last)

	g := newGate(100)
	t.Cleanup(g.release)
	done := make(chan error, 1)
	go func() {
		_, err := projection.Rebuild(context.Background(), conn.JS, gated(tallyProjection("stalled"), g), gateOpts())
		done <- err
	}()
	atGate(t, r)
	// Its lock expires as if it stalled, and another instance takes it.
	locks, err := conn.JS.KeyValue(ctx, projection.LockBucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := locks.Delete(ctx, "stalled"); err != nil {
		t.Fatal(err)
	}
	if _, err := locks.Create(ctx, "stalled", []byte(`{"owner":"another instance","generation":2}`)); err != nil {
		t.Fatal(err)
	}
	g.release()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "lock lost") {
		t.Fatalf("the rebuild that lost its lock: %v, want the lock lost", err)
	}
	if gen := r.Generation(); gen != 1 {
		t.Errorf("generation %d serves, want 1: the rebuild swapped without its lock", gen)
	}
	entry, err := conn.JS.KeyValue(ctx, projection.MetaBucket)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := entry.Get(ctx, "stalled"); err != nil || !strings.Contains(string(m.Value()), `"generation":1`) {
		t.Errorf("meta %v, %v; want generation 1", m, err)
	}
	same(t, values(t, conn.JS, "stalled"), fold(t, store))

	// The runner's own rebuild is refused while the other holds the lock,
	// and its status says so; once the lock is free, it succeeds.
	if _, err := r.Rebuild(ctx); !errors.Is(err, projection.ErrRebuilding) {
		t.Errorf("rebuild while another holds the lock: %v, want ErrRebuilding", err)
	}
	if st := status(t, r); !strings.Contains(st.LastRebuildError, "already under way") || st.LastRebuildAt.IsZero() {
		t.Errorf("last rebuild %q at %v, want the refusal and its time", st.LastRebuildError, st.LastRebuildAt)
	}
	if err := locks.Delete(ctx, "stalled"); err != nil {
		t.Fatal(err)
	}
	if gen, err := r.Rebuild(ctx); err != nil || gen != 2 {
		t.Fatalf("rebuild: generation %d, %v; want 2", gen, err)
	}
	// The runner's Rebuild returns once the runner follows the swap, so
	// its status is the new generation's (the old one's consumer is gone).
	if gen := r.Generation(); gen != 2 {
		t.Errorf("after its Rebuild returned the runner serves generation %d, want 2", gen)
	}
	if st := status(t, r); st.LastRebuildError != "" {
		t.Errorf("last rebuild error %q after a rebuild that succeeded, want none", st.LastRebuildError)
	}
}

func TestProjectionRebuildNeverDeletesTheGenerationSwappedInSinceItReadMeta(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	store, _ := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	last := newWriter(store, "k").add(t, 50, 4)
	r := start(t, conn.JS, tallyProjection("swapped"))
	waitFor(t, r, last)
	if gen, err := r.Rebuild(t.Context()); err != nil || gen != 2 {
		t.Fatalf("rebuild: generation %d, %v; want 2", gen, err)
	}
	// A rebuild that read generation 1 before that swap would delete
	// generation 2 as its own unfinished one.
	if err := projection.DeleteUnfinished(t.Context(), conn.JS, "swapped", 1); !errors.Is(err, projection.ErrRebuilding) {
		t.Errorf("deleting the generation after 1: %v, want ErrRebuilding", err)
	}
	generationExists(t, conn.JS, "proj_swapped_2")
	same(t, values(t, conn.JS, "swapped"), fold(t, store))
}
