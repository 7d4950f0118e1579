package jetstreamx_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats/jetstreamx"
	"ironstar/nats/natstest"
)

// TestWatchValueWaitsForTheBucketAndFollowsTheKey: a watch started before
// the bucket exists sends the key's value once it is written, then each
// change, and nil when the key is deleted.
func TestWatchValueWaitsForTheBucketAndFollowsTheKey(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	values := jetstreamx.WatchValue(ctx, conn.JS, "owned", "k", 20*time.Millisecond)
	next := func(want string) {
		t.Helper()
		for {
			select {
			case v := <-values:
				if string(v) == want && (want != "" || v == nil) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("never saw %q", want)
			}
		}
	}
	kv, err := conn.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "owned"})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"one", "two"} {
		if _, err := kv.Put(ctx, "k", []byte(v)); err != nil {
			t.Fatal(err)
		}
		next(v)
	}
	if err := kv.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	next("")
}
