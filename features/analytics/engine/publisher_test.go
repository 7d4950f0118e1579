package engine

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"ironstar/features/analytics/dashboard"
)

// published collects what a publisher publishes.
func published(t *testing.T, compute func(context.Context, time.Time) (dashboard.Dashboard, error), minInterval, ttl time.Duration) (*Publisher, <-chan dashboard.Dashboard) {
	t.Helper()
	out := make(chan dashboard.Dashboard, 16)
	p := &Publisher{
		compute: compute,
		publish: func(_ context.Context, data []byte) error {
			var d dashboard.Dashboard
			if err := json.Unmarshal(data, &d); err != nil {
				t.Error(err)
			}
			out <- d
			return nil
		},
		logger: slog.New(slog.DiscardHandler), changed: make(chan struct{}, 1), MinInterval: minInterval, TTL: ttl,
	}
	return p, out
}

func TestPublisherCoalescesAndExpires(t *testing.T) {
	t.Parallel()
	var computed atomic.Int32
	compute := func(context.Context, time.Time) (dashboard.Dashboard, error) {
		return dashboard.Dashboard{Events: int(computed.Add(1))}, nil
	}
	p, out := published(t, compute, 300*time.Millisecond, time.Hour)
	go p.Run(t.Context())
	if d := <-out; d.Events != 1 {
		t.Fatalf("first dashboard = %d, want the initial computation", d.Events)
	}
	// A burst of new events within one interval: one more computation.
	for range 100 {
		p.Notify()
	}
	if d := <-out; d.Events != 2 {
		t.Fatalf("after a burst: computation %d, want 2", d.Events)
	}
	select {
	case d := <-out:
		t.Fatalf("an extra computation (%d) for one burst", d.Events)
	case <-time.After(400 * time.Millisecond):
	}

	// With no events, the TTL alone brings a fresh dashboard.
	p2, out2 := published(t, compute, time.Millisecond, 20*time.Millisecond)
	go p2.Run(t.Context())
	<-out2
	select {
	case <-out2:
	case <-time.After(5 * time.Second):
		t.Fatal("no refresh after the TTL")
	}
}
