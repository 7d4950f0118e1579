package jetstreamx_test

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats/jetstreamx"
	"ironstar/nats/natstest"
)

func TestKVGetReadsTheNewestValueFromTheLeader(t *testing.T) {
	c := natstest.Connect(t)
	ctx := t.Context()
	kv, err := c.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := jetstreamx.KVGet(ctx, c.JS, kv, "k"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("missing key: err = %v, want ErrKeyNotFound", err)
	}
	kv.Put(ctx, "k", []byte("one"))
	rev, _ := kv.Put(ctx, "k", []byte("two"))
	value, revision, err := jetstreamx.KVGet(ctx, c.JS, kv, "k")
	if err != nil || string(value) != "two" || revision != rev {
		t.Fatalf("got %q rev %d, %v; want two rev %d", value, revision, err, rev)
	}
	kv.Delete(ctx, "k")
	if _, _, err := jetstreamx.KVGet(ctx, c.JS, kv, "k"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("deleted key: err = %v, want ErrKeyNotFound", err)
	}
}
