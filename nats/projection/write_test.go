package projection_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/es"
	"ironstar/internal/logbuf"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
	"ironstar/nats/projection"
)

// A batch can change more keys than a connection may have asynchronous
// publishes pending (4,000 by default, 1,500 here): its writes go in
// windows, not all at once.
func TestABatchChangingMoreKeysThanAConnectionPipelinesStoresThemAtOnce(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	store, err := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const keys = 9000
	last := natstest.Fill(t, conn.JS, "item", keys, keys)
	logs := &logbuf.Buffer{}
	o := opts()
	o.BatchSize, o.MaxBatch = 1000, keys // one batch, one write per key
	o.AckWait = time.Minute              // time enough under -race
	o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	js, err := jetstream.New(conn.NC, jetstream.WithPublishAsyncMaxPending(1500))
	if err != nil {
		t.Fatal(err)
	}
	r, err := projection.Start(t.Context(), js, tallyProjection("wide"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(t.Context()) })
	waitFor(t, r, last)
	if logs.Count("apply batch") != 0 {
		t.Errorf("the batch failed before it stuck:\n%s", logs)
	}
	same(t, values(t, conn.JS, "wide"), fold(t, store))
}

// A batch that cannot be applied within AckWait/2 is applied in smaller
// parts. Retried whole, it would time out for ever: here every key is read
// from the bucket, the later reads fail at the deadline, and nothing is
// written.
func TestABatchTooSlowToApplyInTimeIsAppliedInSmallerParts(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	store, err := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// A bucket with values: the runner reads every key it has not cached.
	r := start(t, conn.JS, tallyProjection("slow"))
	waitFor(t, r, natstest.Fill(t, conn.JS, "item", 10, 10))
	r.Stop(t.Context())

	last := natstest.Fill(t, conn.JS, "item", 2000, 2000)
	slow := tallyProjection("slow")
	apply := slow.Apply
	slow.Apply = func(key string, current tally, env es.Envelope) (tally, error) {
		time.Sleep(time.Millisecond) // a projection doing real work: 2 s for the batch
		return apply(key, current, env)
	}
	logs := &logbuf.Buffer{}
	o := opts()
	o.BatchSize, o.MaxBatch, o.AckWait = 100, 2000, 2*time.Second
	o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	r, err = projection.Start(t.Context(), conn.JS, slow, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(t.Context()) })
	waitFor(t, r, last)
	if logs.Count("applying smaller parts") == 0 {
		t.Errorf("the batch was applied whole within 1 s:\n%s", logs)
	}
	same(t, values(t, conn.JS, "slow"), fold(t, store))
}
