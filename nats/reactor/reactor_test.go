package reactor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	other, _ := runners[1].Status(t.Context())
	if st.Handled+other.Handled != uint64(len(ids)) {
		t.Errorf("handled %d + %d, want %d", st.Handled, other.Handled, len(ids))
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

func TestReactorParksAPermanentFailureAtOnceAndKeepsItAcrossRestarts(t *testing.T) {
	t.Parallel()
	js, store := setup(t)
	last := appendEvents(t, store, "rejected", "fine")
	fx := newEffects()
	rx := fx.reactor("hook", func(id string, _ int) error {
		if id == "rejected" {
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
	if len(st.Parked) != 1 || st.Parked[0].Seq != last-1 {
		t.Errorf("parked %+v; want event %d still parked", st.Parked, last-1)
	}
	if len(fx.tries("rejected")) != 1 || fx.done()[reactor.Key("hook", last)] != 1 {
		t.Errorf("after the restart: rejected tried %d times, fine's effect %d times; want 1 and 1", len(fx.tries("rejected")), fx.done()[reactor.Key("hook", last)])
	}
}
