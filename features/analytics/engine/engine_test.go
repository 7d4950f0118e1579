package engine

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"ironstar/features/analytics/dashboard"
	"ironstar/internal/poll"
	"ironstar/nats/eventstore"
	"ironstar/nats/leader"
	"ironstar/nats/natstest"
)

// TestOneOfTwoEnginesPublishesAndTheOtherTakesOverCountingEachEventOnce
// runs two engines on one real JetStream, each with its own DuckDB file:
// one publishes a dashboard that counts every event; stopped, it hands
// over to the other, whose dashboard counts the events since as well,
// each once.
func TestOneOfTwoEnginesPublishesAndTheOtherTakesOverCountingEachEventOnce(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	if _, err := eventstore.New(t.Context(), conn.JS, eventstore.Config{}); err != nil {
		t.Fatal(err)
	}
	first := natstest.Fill(t, conn.JS, "todo", 2000, 50)

	stops := map[string]func(){}
	for _, holder := range []string{"a", "b"} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Config{JS: conn.JS, Events: eventstore.Open(conn.JS), DataDir: t.TempDir(), Holder: holder, Logger: slog.New(slog.DiscardHandler)})
		}()
		stops[holder] = func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("engine %s: %v", holder, err)
			}
		}
		t.Cleanup(func() {
			if ctx.Err() == nil {
				stops[holder]()
			}
		})
	}

	published := func() dashboard.Dashboard {
		var d dashboard.Dashboard
		kv, err := conn.JS.KeyValue(t.Context(), dashboard.Bucket)
		if err != nil {
			return d
		}
		if e, err := kv.Get(t.Context(), dashboard.Key); err == nil {
			_ = json.Unmarshal(e.Value(), &d)
		}
		return d
	}
	holder := func() string {
		h, _, _ := leader.Holder(t.Context(), conn.JS, dashboard.LeaderBucket, dashboard.LeaderKey)
		return h
	}
	poll.Until(t, 30*time.Second, "a dashboard counting every event", func() bool {
		d := published()
		return d.Events == int(first) && d.Seq == first
	})
	active := holder()
	if active != "a" && active != "b" {
		t.Fatalf("holder %q, want a or b", active)
	}
	stops[active]()

	natstest.Fill(t, conn.JS, "counter", 1000, 50) // other aggregates: Fill's message IDs would repeat
	last, err := eventstore.Open(conn.JS).LastSequence(t.Context())
	if err != nil || last != first+1000 {
		t.Fatalf("stream ends at %d (%v), want %d", last, err, first+1000)
	}
	poll.Until(t, 30*time.Second, "the standby's dashboard counting every event", func() bool {
		d := published()
		return d.Events == int(last) && d.Seq == last && holder() != active && holder() != ""
	})
}
