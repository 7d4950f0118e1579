package leader_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"ironstar/internal/poll"
	"ironstar/nats/broker"
	"ironstar/nats/leader"
	"ironstar/nats/natstest"
)

const bucket, key = "leases", "engine"

// term is one stretch of one campaigner's lead.
type term struct {
	holder   string
	from, to time.Time
	// cause is why lead's context was cancelled, nil if it returned by
	// itself.
	cause error
}

// terms records who leads, and every time a lead began while another was
// still running.
type terms struct {
	mu       sync.Mutex
	active   map[string]time.Time
	ended    []term
	overlaps []string
}

func newTerms() *terms { return &terms{active: map[string]time.Time{}} }

// lead is holder's lead function: it records its term around work.
func (ts *terms) lead(holder string, work func(ctx context.Context)) func(ctx context.Context) {
	return func(ctx context.Context) {
		ts.mu.Lock()
		for other := range ts.active {
			ts.overlaps = append(ts.overlaps, fmt.Sprintf("%s began while %s led", holder, other))
		}
		ts.active[holder] = time.Now()
		ts.mu.Unlock()
		work(ctx)
		ts.mu.Lock()
		ts.ended = append(ts.ended, term{holder: holder, from: ts.active[holder], to: time.Now(), cause: context.Cause(ctx)})
		delete(ts.active, holder)
		ts.mu.Unlock()
	}
}

// leader returns the campaigner leading now and since when.
func (ts *terms) leader() (holder string, since time.Time, ok bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for h, from := range ts.active {
		return h, from, true
	}
	return "", time.Time{}, false
}

func (ts *terms) endedTerms() []term {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]term(nil), ts.ended...)
}

func (ts *terms) checkNoOverlap(t *testing.T) {
	t.Helper()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.overlaps) > 0 {
		t.Errorf("two leaders at once: %v", ts.overlaps)
	}
}

// untilCancelled is lead's work in most tests: lead until told to stop.
func untilCancelled(ctx context.Context) { <-ctx.Done() }

// campaigner is one process running leader.Run on its own connection.
type campaigner struct {
	nc *nats.Conn
	js jetstream.JetStream
	// stop cancels Run and returns when it has returned.
	stop func() time.Time
}

func campaign(t *testing.T, c *broker.Conn, opts leader.Options, lead func(context.Context)) campaigner {
	t.Helper()
	nc, js, err := c.NewClient(opts.Holder)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- leader.Run(ctx, js, opts, lead) }()
	stop := sync.OnceValue(func() time.Time {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run of %s: %v", opts.Holder, err)
		}
		return time.Now()
	})
	t.Cleanup(func() { stop() })
	return campaigner{nc: nc, js: js, stop: stop}
}

func options(holder string, ttl time.Duration) leader.Options {
	return leader.Options{Bucket: bucket, Key: key, Holder: holder, TTL: ttl}
}

func TestOneOfSeveralCampaignersLeadsAtATime(t *testing.T) {
	c := natstest.Connect(t)
	const ttl = 600 * time.Millisecond
	ts := newTerms()
	// A leader resigns (its lead returns) when the test sends on resign.
	resign := make(chan struct{})
	work := func(ctx context.Context) {
		select {
		case <-ctx.Done():
		case <-resign:
		}
	}
	for _, h := range []string{"a", "b", "c"} {
		campaign(t, c, options(h, ttl), ts.lead(h, work))
	}

	var previous string
	for handover := range 4 {
		var current string
		poll.Until(t, 5*ttl, fmt.Sprintf("a leader other than %q (handover %d)", previous, handover), func() bool {
			h, _, ok := ts.leader()
			current = h
			return ok && h != previous
		})
		poll.Until(t, 5*ttl, "Holder to name "+current, func() bool {
			h, ok, err := leader.Holder(t.Context(), c.JS, bucket, key)
			return err == nil && ok && h == current
		})
		select {
		case resign <- struct{}{}:
		case <-time.After(5 * ttl):
			t.Fatalf("leader %s did not take the resignation", current)
		}
		previous = current
	}
	ts.checkNoOverlap(t)
	for _, tm := range ts.endedTerms() {
		if tm.cause != nil {
			t.Errorf("term of %s was cancelled (%v); every term should have ended by resigning", tm.holder, tm.cause)
		}
	}
}

func TestStoppingTheLeaderHandsOverAtOnce(t *testing.T) {
	c := natstest.Connect(t)
	const ttl = time.Second
	ts := newTerms()
	campaigners := map[string]campaigner{}
	for _, h := range []string{"a", "b"} {
		campaigners[h] = campaign(t, c, options(h, ttl), ts.lead(h, untilCancelled))
	}
	var first string
	poll.Until(t, 5*ttl, "a leader", func() (ok bool) { first, _, ok = ts.leader(); return ok })

	stopped := campaigners[first].stop()
	var second string
	var since time.Time
	poll.Until(t, 5*ttl, "the standby to lead", func() (ok bool) {
		second, since, ok = ts.leader()
		return ok
	})
	if second == first {
		t.Fatalf("%s leads again after its Run returned", first)
	}
	// Deleting the key lets the standby in at its next try (TTL/4); had the
	// key been left to run out, it would have taken at least 3/4 TTL.
	if took := since.Sub(stopped); took > ttl/2 {
		t.Errorf("standby %s led %s after %s stopped, want under %s", second, took, first, ttl/2)
	}
	ts.checkNoOverlap(t)
}

func TestALeaderWhoseKeyIsTakenAwayStopsLeading(t *testing.T) {
	for name, takeAway := range map[string]func(context.Context, jetstream.KeyValue) error{
		"overwritten": func(ctx context.Context, kv jetstream.KeyValue) error {
			_, err := kv.Put(ctx, key, []byte("intruder"))
			return err
		},
		"deleted": func(ctx context.Context, kv jetstream.KeyValue) error {
			return kv.Delete(ctx, key)
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := natstest.Connect(t)
			const ttl = 600 * time.Millisecond
			ts := newTerms()
			campaign(t, c, options("a", ttl), ts.lead("a", untilCancelled))
			poll.Until(t, 5*ttl, "a to lead", func() bool { _, _, ok := ts.leader(); return ok })

			kv, err := c.JS.KeyValue(t.Context(), bucket)
			if err != nil {
				t.Fatal(err)
			}
			if err := takeAway(t.Context(), kv); err != nil {
				t.Fatal(err)
			}
			poll.Until(t, ttl, "a's lead to be cancelled", func() bool { return len(ts.endedTerms()) > 0 })
			if cause := ts.endedTerms()[0].cause; !errors.Is(cause, leader.ErrLost) {
				t.Errorf("lead's context cancelled with %v, want ErrLost", cause)
			}
			// Once the key is free again, a leads again.
			poll.Until(t, 5*ttl, "a to lead again", func() bool { _, _, ok := ts.leader(); return ok })
			ts.checkNoOverlap(t)
		})
	}
}

func TestALeaderCutOffFromNATSStopsBeforeItsLeaseRunsOut(t *testing.T) {
	c := natstest.Connect(t)
	const ttl = 1500 * time.Millisecond
	type seen struct {
		cause  error
		holder string
		held   bool
		err    error
	}
	stopped := make(chan seen, 1)
	a := campaign(t, c, options("a", ttl), func(ctx context.Context) {
		<-ctx.Done()
		// Asked on the test's own connection, at the moment a stops.
		h, ok, err := leader.Holder(context.Background(), c.JS, bucket, key)
		stopped <- seen{cause: context.Cause(ctx), holder: h, held: ok, err: err}
	})
	poll.Until(t, 5*ttl, "a to lead", func() bool {
		h, ok, err := leader.Holder(t.Context(), c.JS, bucket, key)
		return err == nil && ok && h == "a"
	})

	a.nc.Close()
	select {
	case s := <-stopped:
		if !errors.Is(s.cause, leader.ErrNotRenewed) {
			t.Errorf("lead's context cancelled with %v, want ErrNotRenewed", s.cause)
		}
		if s.err != nil || !s.held || s.holder != "a" {
			t.Errorf("when a stopped, Holder = %q, %v, %v; want its lease still there (a, true, nil)", s.holder, s.held, s.err)
		}
	case <-time.After(2 * ttl):
		t.Fatal("a still leads a TTL after losing NATS")
	}
}

func TestACampaignerTakesBackAKeyNamingIt(t *testing.T) {
	c := natstest.Connect(t)
	const ttl = 1200 * time.Millisecond
	kv, err := c.JS.CreateOrUpdateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: bucket, History: 1, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	// As left by a renewal whose answer was lost.
	if _, err := kv.Put(t.Context(), key, []byte("a")); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	ts := newTerms()
	campaign(t, c, options("a", ttl), ts.lead("a", untilCancelled))
	var since time.Time
	poll.Until(t, 5*ttl, "a to lead", func() (ok bool) { _, since, ok = ts.leader(); return ok })
	if took := since.Sub(began); took > ttl/2 {
		t.Errorf("a led after %s, want under %s (without waiting for its old key to run out)", took, ttl/2)
	}
}

func TestHolderNamesTheLeaderOrNobody(t *testing.T) {
	c := natstest.Connect(t)
	ctx := t.Context()
	if h, ok, err := leader.Holder(ctx, c.JS, bucket, key); err != nil || ok {
		t.Fatalf("before any campaign: Holder = %q, %v, %v; want nobody", h, ok, err)
	}
	a := campaign(t, c, options("host-1:42", 4*time.Second), untilCancelled)
	poll.Until(t, 3*time.Second, "Holder to name host-1:42", func() bool {
		h, ok, err := leader.Holder(ctx, c.JS, bucket, key)
		return err == nil && ok && h == "host-1:42"
	})
	a.stop()
	if h, ok, err := leader.Holder(ctx, c.JS, bucket, key); err != nil || ok {
		t.Fatalf("after the only campaigner stopped: Holder = %q, %v, %v; want nobody", h, ok, err)
	}
}

func TestACampaignerStoppedWhileTakingTheKeyGivesItUp(t *testing.T) {
	c := natstest.Connect(t)
	ctx := t.Context()
	// Each round stops a campaigner the moment its write of the key
	// reaches the server, which is often before the campaigner has the
	// answer: it must give the key up all the same. Several rounds, as
	// that moment is a race.
	for round := range 20 {
		holder := fmt.Sprintf("host-%d:42", round)
		written := make(chan struct{}, 1)
		sub, err := c.NC.Subscribe("$KV."+bucket+"."+key, func(*nats.Msg) {
			select {
			case written <- struct{}{}:
			default:
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.NC.Flush(); err != nil {
			t.Fatal(err)
		}
		a := campaign(t, c, options(holder, 4*time.Second), untilCancelled)
		select {
		case <-written:
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: %s did not write the key", round, holder)
		}
		a.stop()
		_ = sub.Unsubscribe()
		if h, ok, err := leader.Holder(ctx, c.JS, bucket, key); err != nil || ok {
			t.Fatalf("round %d, after the only campaigner stopped: Holder = %q, %v, %v; want nobody", round, h, ok, err)
		}
	}
}

func TestAStoppedLeaderGivesUpAKeyMovedByALostRenewal(t *testing.T) {
	c := natstest.Connect(t)
	ctx := t.Context()
	a := campaign(t, c, options("a", 4*time.Second), untilCancelled)
	var kv jetstream.KeyValue
	poll.Until(t, 3*time.Second, "a to hold the key", func() bool {
		h, ok, err := leader.Holder(ctx, c.JS, bucket, key)
		if err != nil || !ok || h != "a" {
			return false
		}
		kv, err = c.JS.KeyValue(ctx, bucket)
		return err == nil
	})
	// As left by a renewal the server stored but whose answer was lost:
	// the key still names a, at a revision a does not know.
	entry, err := kv.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Update(ctx, key, []byte("a"), entry.Revision()); err != nil {
		t.Fatal(err)
	}
	a.stop()
	if h, ok, err := leader.Holder(ctx, c.JS, bucket, key); err != nil || ok {
		t.Fatalf("after a stopped: Holder = %q, %v, %v; want nobody", h, ok, err)
	}
}

func TestRunRejectsIncompleteOptions(t *testing.T) {
	c := natstest.Connect(t)
	for _, opts := range []leader.Options{
		{Key: key, Holder: "a"},
		{Bucket: bucket, Holder: "a"},
		{Bucket: bucket, Key: key},
		{Bucket: bucket, Key: key, Holder: "a", TTL: -time.Second},
	} {
		if err := leader.Run(t.Context(), c.JS, opts, untilCancelled); err == nil {
			t.Errorf("Run(%+v) = nil, want an error", opts)
		}
	}
}
