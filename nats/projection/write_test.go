package projection_test

import (
	"log/slog"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

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
