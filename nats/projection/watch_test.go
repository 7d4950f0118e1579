package projection

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats/natstest"
)

// A watch whose consumer disappears (as it does with the NATS node that
// held it) goes on with a new one, after the last value it passed on.
func TestWatchKeyOutlivesItsConsumer(t *testing.T) {
	c := natstest.Connect(t)
	ctx := t.Context()
	kv, err := c.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "w"})
	if err != nil {
		t.Fatal(err)
	}
	kv.Put(ctx, "k", []byte("1"))
	changes, err := watchKey(ctx, c.JS, "w", "k", false)
	if err != nil {
		t.Fatal(err)
	}
	next := func(want string) {
		t.Helper()
		select {
		case ch := <-changes:
			if string(ch.value) != want {
				t.Fatalf("value %q, want %q", ch.value, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %q within 10s", want)
		}
	}
	next("1")

	stream, err := c.JS.Stream(ctx, "KV_w")
	if err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for name := range stream.ListConsumers(ctx).Info() {
		if err := stream.DeleteConsumer(ctx, name.Name); err != nil {
			t.Fatal(err)
		}
		deleted++
	}
	if deleted == 0 {
		t.Fatal("the watch has no consumer to lose")
	}
	// (One at a time: the bucket keeps only the latest value of a key.)
	kv.Put(ctx, "k", []byte("2"))
	next("2")
	kv.Put(ctx, "k", []byte("3"))
	next("3")
}
