package reactor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/es"
	"ironstar/internal/poll"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
	"ironstar/nats/reactor"
)

// setup starts a real JetStream with the EVENTS stream.
func setup(t *testing.T) (jetstream.JetStream, *eventstore.Store) {
	t.Helper()
	conn := natstest.Connect(t)
	store, err := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return conn.JS, store
}

// appendEvents stores one event on each of the items named, and returns
// the sequence of the last.
func appendEvents(t *testing.T, store *eventstore.Store, ids ...string) uint64 {
	t.Helper()
	for _, id := range ids {
		env := es.Envelope{ID: "e-" + id + "-" + fmt.Sprint(time.Now().UnixNano()), Type: "item.touched", Version: 1, Data: []byte(`{}`),
			Meta: es.Metadata{CommandID: "c-" + id, OccurredAt: time.Now()}}
		if _, err := store.Append(t.Context(), es.StreamID{Aggregate: "item", ID: id}, 0, []es.Envelope{env}); err != nil {
			t.Fatal(err)
		}
	}
	last, err := store.LastSequence(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return last
}

// effects records what a reactor was asked to do.
type effects struct {
	mu       sync.Mutex
	keys     map[string]int         // idempotency key → calls
	attempts map[string][]time.Time // item → when its effect was tried
}

func newEffects() *effects {
	return &effects{keys: map[string]int{}, attempts: map[string][]time.Time{}}
}

// reactor is a reactor on item events whose effect fails as fail says.
func (e *effects) reactor(name string, fail func(id string, attempt int) error) reactor.Reactor {
	return reactor.Reactor{
		Name:     name,
		Subjects: []string{"events.item.>"},
		React: func(_ context.Context, env es.Envelope, key string) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.attempts[env.Stream.ID] = append(e.attempts[env.Stream.ID], time.Now())
			if err := fail(env.Stream.ID, len(e.attempts[env.Stream.ID])); err != nil {
				return err
			}
			e.keys[key]++
			return nil
		},
	}
}

func (e *effects) tries(id string) []time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]time.Time(nil), e.attempts[id]...)
}

func (e *effects) done() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.keys))
	for k, v := range e.keys {
		out[k] = v
	}
	return out
}

func never(string, int) error { return nil }

// waitStatus polls the runner until cond holds for its status.
func waitStatus(t *testing.T, r *reactor.Runner, what string, cond func(reactor.Status) bool) reactor.Status {
	t.Helper()
	var st reactor.Status
	var err error
	if !poll.Within(20*time.Second, func() bool {
		st, err = r.Status(t.Context())
		return err == nil && cond(st)
	}) {
		t.Fatalf("timed out waiting for %s; last status %+v, err %v", what, st, err)
	}
	return st
}

func stop(t *testing.T, r *reactor.Runner) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
}

func TestReactorRunnersShareTheEventsAndEachEffectRunsOnce(t *testing.T) {
	t.Parallel()
	js, store := setup(t)
	// An event of another aggregate: outside the reactor's subjects.
	if _, err := store.Append(t.Context(), es.StreamID{Aggregate: "other", ID: "x"}, 0, []es.Envelope{{
		ID: "other-1", Type: "other.thing", Version: 1, Data: []byte(`{}`), Meta: es.Metadata{CommandID: "o1"}}}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 40 {
		ids = append(ids, fmt.Sprintf("i%02d", i))
	}
	last := appendEvents(t, store, ids...)

	fx := newEffects()
	var runners []*reactor.Runner
	for range 2 { // two instances of the app
		r, err := reactor.Start(t.Context(), js, fx.reactor("count", never), reactor.Options{})
		if err != nil {
			t.Fatal(err)
		}
		stop(t, r)
		runners = append(runners, r)
	}
	st := waitStatus(t, runners[0], "every event handled", func(st reactor.Status) bool { return st.Position == last && st.Lag == 0 })
	done := fx.done()
	if len(done) != len(ids) {
		t.Errorf("%d effects, want %d: %v", len(done), len(ids), done)
	}
	for key, calls := range done {
		if calls != 1 || !strings.HasPrefix(key, "count-") {
			t.Errorf("effect %s ran %d times", key, calls)
		}
	}
	// Asked again: a Status counts this instance's handled events before
	// it asks the server for the position, so the one that saw the last
	// acknowledgement may have counted fewer.
	mine, _ := runners[0].Status(t.Context())
	other, _ := runners[1].Status(t.Context())
	if mine.Handled+other.Handled != uint64(len(ids)) {
		t.Errorf("handled %d + %d, want %d", mine.Handled, other.Handled, len(ids))
	}
	if len(st.Parked) != 0 || st.Retrying != 0 {
		t.Errorf("status %+v: nothing should be parked or retrying", st)
	}
}

func TestReactorRetriesWithBackoffThenParksAndMovesOn(t *testing.T) {
	t.Parallel()
	js, store := setup(t)
	last := appendEvents(t, store, "good1", "bad", "flaky", "good2")
	badSeq := last - 2

	fx := newEffects()
	errRefused := errors.New("the mail server refused")
	r, err := reactor.Start(t.Context(), js, fx.reactor("mail", func(id string, attempt int) error {
		switch {
		case id == "bad":
			return errRefused
		case id == "flaky" && attempt < 3:
			return fmt.Errorf("timeout %d", attempt)
		}
		return nil
	}), reactor.Options{MaxAttempts: 4, Backoff: 50 * time.Millisecond, MaxBackoff: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop(t, r)

	st := waitStatus(t, r, "the bad event parked and the rest handled", func(st reactor.Status) bool {
		return st.Position == last && st.Lag == 0 && len(st.Parked) == 1
	})
	parked := st.Parked[0]
	if parked.Seq != badSeq || parked.Type != "item.touched" || parked.Attempts != 4 || !strings.Contains(parked.Error, errRefused.Error()) || parked.At.IsZero() {
		t.Errorf("parked %+v; want event %d after 4 attempts with %q", parked, badSeq, errRefused)
	}
	// Tried four times, each pause at least the back-off: 50, 100, then
	// 150 ms (capped).
	tries := fx.tries("bad")
	if len(tries) != 4 {
		t.Fatalf("the failing effect was tried %d times, want 4", len(tries))
	}
	for i, want := range []time.Duration{50, 100, 150} {
		if gap := tries[i+1].Sub(tries[i]); gap < want*time.Millisecond {
			t.Errorf("pause before attempt %d: %s, want at least %dms", i+2, gap, want)
		}
	}
	// The flaky effect succeeded on its third attempt; the others at once.
	done := fx.done()
	if len(fx.tries("flaky")) != 3 || len(done) != 3 {
		t.Errorf("flaky tried %d times (want 3); effects done %v (want good1, flaky, good2)", len(fx.tries("flaky")), done)
	}
	if st.Handled != 3 {
		t.Errorf("handled %d, want 3", st.Handled)
	}
	if err := r.Health(t.Context()); !errors.Is(err, reactor.ErrDegraded) || !strings.Contains(err.Error(), fmt.Sprint("event ", badSeq)) {
		t.Errorf("health = %v; want degraded naming event %d", err, badSeq)
	}
}

func TestReactorParksAPermanentFailureAtOnceKeepsItAcrossRestartsAndRedrivesIt(t *testing.T) {
	t.Parallel()
	js, store := setup(t)
	last := appendEvents(t, store, "rejected", "fine")
	rejectedSeq := last - 1
	fx := newEffects()
	var fixed atomic.Bool // the webhook's receiver, fixed by its owner
	rx := fx.reactor("hook", func(id string, _ int) error {
		if id == "rejected" && !fixed.Load() {
			return reactor.Permanent(errors.New("webhook answered 422"))
		}
		return nil
	})
	r, err := reactor.Start(t.Context(), js, rx, reactor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, r, "the rejected event parked", func(st reactor.Status) bool { return st.Position == last && len(st.Parked) == 1 })
	if st.Parked[0].Attempts != 1 || len(fx.tries("rejected")) != 1 {
		t.Errorf("parked %+v after %d tries; want parked at the first", st.Parked[0], len(fx.tries("rejected")))
	}
	if err := r.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Another start (a restart, another instance) sees it parked and
	// reacts to nothing again.
	r2, err := reactor.Start(t.Context(), js, rx, reactor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stop(t, r2)
	more := appendEvents(t, store, "later")
	st = waitStatus(t, r2, "the later event handled", func(st reactor.Status) bool { return st.Position == more && st.Lag == 0 })
	if len(st.Parked) != 1 || st.Parked[0].Seq != rejectedSeq {
		t.Errorf("parked %+v; want event %d still parked", st.Parked, rejectedSeq)
	}
	if len(fx.tries("rejected")) != 1 || fx.done()[reactor.Key("hook", last)] != 1 {
		t.Errorf("after the restart: rejected tried %d times, fine's effect %d times; want 1 and 1", len(fx.tries("rejected")), fx.done()[reactor.Key("hook", last)])
	}

	// Redriven before the cause is fixed: it fails again and stays parked.
	if err := r2.Redrive(t.Context(), rejectedSeq); err == nil || !strings.Contains(err.Error(), "422") {
		t.Errorf("redrive before the fix = %v; want the webhook's error", err)
	}
	if err := r2.Health(t.Context()); !errors.Is(err, reactor.ErrDegraded) {
		t.Errorf("health after a failed redrive = %v; want degraded", err)
	}
	// Fixed, redriven: the effect happens, with the event's key, and the
	// entry goes.
	fixed.Store(true)
	if err := r2.Redrive(t.Context(), rejectedSeq); err != nil {
		t.Fatalf("redrive after the fix: %v", err)
	}
	if n := fx.done()[reactor.Key("hook", rejectedSeq)]; n != 1 {
		t.Errorf("the redriven effect ran %d times with the event's key, want 1", n)
	}
	if err := r2.Health(t.Context()); err != nil {
		t.Errorf("health after the redrive = %v; want nil", err)
	}
	if err := r2.Redrive(t.Context(), rejectedSeq); !errors.Is(err, reactor.ErrNotParked) {
		t.Errorf("a second redrive = %v; want ErrNotParked", err)
	}
}

func TestReactorRetriesTransientFailuresWithoutCountingThem(t *testing.T) {
	t.Parallel()
	js, store := setup(t)
	last := appendEvents(t, store, "outage", "broken")
	brokenSeq := last

	fx := newEffects()
	errRefused := errors.New("the webhook answered 400 with no reason given")
	r, err := reactor.Start(t.Context(), js, fx.reactor("sync", func(id string, attempt int) error {
		switch {
		case id == "outage" && attempt <= 5: // an outage longer than MaxAttempts
			return fmt.Errorf("append: %w", []error{es.ErrUnavailable, es.ErrStoreFull, es.ErrConcurrency,
				context.DeadlineExceeded, reactor.Transient(errors.New("503"))}[attempt-1])
		case id == "broken" && attempt <= 3:
			return fmt.Errorf("append: %w", es.ErrUnavailable)
		case id == "broken":
			return errRefused
		}
		return nil
	}), reactor.Options{MaxAttempts: 2, Backoff: 10 * time.Millisecond, MaxTransientBackoff: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop(t, r)

	st := waitStatus(t, r, "the outage over and the broken event parked", func(st reactor.Status) bool {
		return st.Position == last && st.Lag == 0 && len(st.Parked) == 1
	})
	if tries, done := len(fx.tries("outage")), fx.done()[reactor.Key("sync", last-1)]; tries != 6 || done != 1 {
		t.Errorf("through the outage: tried %d times, done %d times; want 6 and 1", tries, done)
	}
	// Parked after MaxAttempts failures that count, the transient ones
	// before them not counted.
	if p := st.Parked[0]; p.Seq != brokenSeq || p.Attempts != 2 || !strings.Contains(p.Error, errRefused.Error()) || len(fx.tries("broken")) != 5 {
		t.Errorf("parked %+v after %d tries; want event %d after 2 counted attempts (5 tries)", p, len(fx.tries("broken")), brokenSeq)
	}
	// The failure counts are gone with the failures: the bucket holds the
	// parked entry alone.
	bucket, err := js.KeyValue(t.Context(), "react_sync_parked")
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := bucket.Keys(t.Context()); err != nil || !slices.Equal(keys, []string{fmt.Sprint(brokenSeq)}) {
		t.Errorf("parked bucket keys %v (%v); want only %d", keys, err, brokenSeq)
	}
}

func TestReactorKeepsEventsWaitingBehindASlowEffectInProgress(t *testing.T) {
	t.Parallel()
	js, store := setup(t)
	last := appendEvents(t, store, "s1", "s2", "s3", "s4")
	// Longer than a pull waits (1 s): an event delivered again then goes
	// to whichever instance pulls, not into the first's open pull.
	const ackWait = 1500 * time.Millisecond
	var mu sync.Mutex
	calls := map[string]int{}
	started := make(chan struct{})
	slow := reactor.Reactor{
		Name:     "slow",
		Subjects: []string{"events.item.>"},
		React: func(ctx context.Context, _ es.Envelope, key string) error {
			mu.Lock()
			calls[key]++
			if len(calls) == 1 {
				close(started)
			}
			mu.Unlock()
			// Each effect takes three quarters of AckWait: the second of
			// a batch would pass its AckWait while it runs, were it not
			// kept in progress.
			select {
			case <-time.After(3 * ackWait / 4):
			case <-ctx.Done():
			}
			return nil
		},
	}
	a, err := reactor.Start(t.Context(), js, slow, reactor.Options{AckWait: ackWait, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	stop(t, a)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("no effect started within 10s")
	}
	// A second instance, pulling while the first works its batch: an
	// event passing its AckWait there would be delivered to it.
	b, err := reactor.Start(t.Context(), js, slow, reactor.Options{AckWait: ackWait, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	stop(t, b)
	st := waitStatus(t, a, "every event handled", func(st reactor.Status) bool { return st.Position == last && st.Lag == 0 })
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 4 {
		t.Errorf("effects %v; want 4", calls)
	}
	for key, n := range calls {
		if n != 1 {
			t.Errorf("effect %s ran %d times, want 1 (delivered again while held)", key, n)
		}
	}
	if len(st.Parked) != 0 {
		t.Errorf("parked %+v; want none", st.Parked)
	}
}

// TestReactorRedeliveryAfterAnInstanceDiedBringsTheSameKey runs an effect
// that no aggregate state protects: a sink (a mail server, a webhook's
// receiver) that records the key of every call and applies each key once.
// The instance running it dies mid-effect, before acknowledging; another
// instance gets the event again: both calls bring the same key, so the
// sink applies the effect once.
func TestReactorRedeliveryAfterAnInstanceDiedBringsTheSameKey(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	store, err := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	seq := appendEvents(t, store, "invoice")

	var mu sync.Mutex
	var keys []string            // of every call
	applied := map[string]bool{} // by the sink, once per key
	inEffect, dead := make(chan struct{}), make(chan struct{})
	mailer := reactor.Reactor{
		Name:     "mailer",
		Subjects: []string{"events.item.>"},
		React: func(_ context.Context, _ es.Envelope, key string) error {
			mu.Lock()
			keys = append(keys, key)
			applied[key] = true
			first := len(keys) == 1
			mu.Unlock()
			if first {
				close(inEffect)
				<-dead
			}
			return nil
		},
	}
	opts := reactor.Options{AckWait: 500 * time.Millisecond}

	// Instance A, on a connection of its own.
	ncA, jsA, err := conn.NewClient("instance-a")
	if err != nil {
		t.Fatal(err)
	}
	a, err := reactor.Start(t.Context(), jsA, mailer, opts)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-inEffect:
	case <-time.After(10 * time.Second):
		t.Fatal("the effect did not start within 10s")
	}
	ncA.Close() // A dies mid-effect: no acknowledgement, no keep-alive
	close(dead)
	if err := a.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}

	b, err := reactor.Start(t.Context(), conn.JS, mailer, opts)
	if err != nil {
		t.Fatal(err)
	}
	stop(t, b)
	waitStatus(t, b, "instance B to handle the event again", func(st reactor.Status) bool { return st.Position == seq && st.Lag == 0 })
	mu.Lock()
	defer mu.Unlock()
	want := reactor.Key("mailer", seq)
	if len(keys) != 2 || keys[0] != want || keys[1] != want {
		t.Errorf("keys of the calls %v; want two calls, both with %q", keys, want)
	}
	if len(applied) != 1 {
		t.Errorf("the sink applied %d effects, want 1: %v", len(applied), applied)
	}
}
