package analytics

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

func TestRefresherCoalescesAndExpires(t *testing.T) {
	t.Parallel()
	var computed atomic.Int32
	r := &Refresher{
		compute: func(context.Context, time.Time) (Dashboard, error) {
			return Dashboard{Events: int(computed.Add(1))}, nil
		},
		logger: slog.New(slog.DiscardHandler), changed: make(chan struct{}, 1),
		MinInterval: 300 * time.Millisecond, TTL: time.Hour, now: time.Now,
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, _ := r.watch(ctx, "dashboard")
	if d := <-out; d.Events != 1 {
		t.Fatalf("first dashboard = %d, want the initial computation", d.Events)
	}
	// A burst of new events within one interval: one more computation.
	start := time.Now()
	for range 100 {
		r.Notify()
	}
	if d := <-out; d.Events != 2 {
		t.Fatalf("after a burst: computation %d, want 2", d.Events)
	}
	if time.Since(start) > time.Hour/2 {
		t.Fatal("the burst waited for the TTL")
	}
	select {
	case d := <-out:
		t.Fatalf("an extra computation (%d) for one burst", d.Events)
	case <-time.After(200 * time.Millisecond):
	}

	// With no events, the TTL alone brings a fresh dashboard.
	r2 := &Refresher{compute: r.compute, logger: r.logger, changed: make(chan struct{}, 1), MinInterval: time.Millisecond, TTL: 20 * time.Millisecond, now: time.Now}
	out2, _ := r2.watch(ctx, "dashboard")
	<-out2
	select {
	case <-out2:
	case <-time.After(5 * time.Second):
		t.Fatal("no refresh after the TTL")
	}
}
