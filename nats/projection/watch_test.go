package projection

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/internal/poll"
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

// watched is a view over buckets a test writes by hand: gen is the bucket
// of generation 1 of projection "w".
type watched struct {
	t    *testing.T
	js   jetstream.JetStream
	view *View[string]
	gen  jetstream.KeyValue
}

func openWatched(t *testing.T) *watched {
	t.Helper()
	c := natstest.Connect(t)
	ctx := t.Context()
	if _, err := metaBucket(ctx, c.JS, 1); err != nil {
		t.Fatal(err)
	}
	gen, err := c.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: resourceName("w", 1), History: 1})
	if err != nil {
		t.Fatal(err)
	}
	view, err := OpenView[string](ctx, c.JS, "w")
	if err != nil {
		t.Fatal(err)
	}
	return &watched{t: t, js: c.JS, view: view, gen: gen}
}

// put stores value at seq under key, as a runner would.
func (w *watched) put(kv jetstream.KeyValue, key string, seq uint64, value string) {
	w.t.Helper()
	data, _ := json.Marshal(record[string]{Seq: seq, Value: value})
	if _, err := kv.Put(w.t.Context(), key, data); err != nil {
		w.t.Fatal(err)
	}
}

func (w *watched) watch(key string) <-chan Entry[string] {
	w.t.Helper()
	ch, err := watchChan(w.t.Context(), w.view, key)
	if err != nil {
		w.t.Fatal(err)
	}
	return ch
}

// watchChan watches key into a channel that holds the newest value not yet
// read, and closes when the watch ends.
func watchChan(ctx context.Context, view *View[string], key string) (<-chan Entry[string], error) {
	ch := make(chan Entry[string], 1)
	var mu sync.Mutex // send and end replace what is in ch
	send := func(e Entry[string]) {
		mu.Lock()
		defer mu.Unlock()
		select {
		case <-ch:
		default:
		}
		ch <- e
	}
	end := func() {
		mu.Lock()
		defer mu.Unlock()
		close(ch)
	}
	return ch, view.Watch(ctx, key, send, end)
}

func (w *watched) consumers(bucket string) int {
	w.t.Helper()
	stream, err := w.js.Stream(w.t.Context(), "KV_"+bucket)
	if err != nil {
		w.t.Fatal(err)
	}
	info, err := stream.Info(w.t.Context())
	if err != nil {
		w.t.Fatal(err)
	}
	return info.State.Consumers
}

func receive(t *testing.T, ch <-chan Entry[string]) Entry[string] {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("the watch closed")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no value within 10s")
	}
	return Entry[string]{}
}

// receiveUntil reads values until one at seq, failing on any that goes
// backwards.
func receiveUntil(t *testing.T, ch <-chan Entry[string], seq uint64) {
	t.Helper()
	var last uint64
	for last != seq {
		e := receive(t, ch)
		if e.Seq < last || e.Seq > seq {
			t.Fatalf("value at %d after %d, waiting for %d", e.Seq, last, seq)
		}
		last = e.Seq
	}
}

func TestViewWatchesManyKeysThroughOneConsumer(t *testing.T) {
	t.Parallel()
	w := openWatched(t)
	chans := map[string]<-chan Entry[string]{}
	for i := range 100 {
		key := fmt.Sprintf("k%d", i)
		w.put(w.gen, key, 1, "one")
		chans[key] = w.watch(key)
	}
	if n := w.consumers(w.gen.Bucket()); n != 1 {
		t.Errorf("%d consumers on the bucket for 100 watched keys, want 1", n)
	}
	for key, ch := range chans {
		if e := receive(t, ch); e.Seq != 1 || e.Value != "one" {
			t.Fatalf("%s first sent %+v, want its current value", key, e)
		}
		w.put(w.gen, key, 2, "two "+key)
	}
	for key, ch := range chans {
		if e := receive(t, ch); e.Seq != 2 || e.Value != "two "+key {
			t.Fatalf("%s then sent %+v, want its own change", key, e)
		}
	}
	if n := w.consumers(w.gen.Bucket()); n != 1 {
		t.Errorf("%d consumers on the bucket after the changes, want 1", n)
	}
}

func TestViewWatchSendsTheCurrentValueThenOnlyNewerOnes(t *testing.T) {
	t.Parallel()
	w := openWatched(t)
	empty := w.watch("new")
	if e := receive(t, empty); e != (Entry[string]{}) {
		t.Errorf("a key without a value first sent %+v, want a zero Entry", e)
	}
	w.put(w.gen, "k", 5, "five")
	ch := w.watch("k")
	if e := receive(t, ch); e.Seq != 5 || e.Value != "five" {
		t.Fatalf("first %+v, want the current value", e)
	}
	w.put(w.gen, "k", 4, "older")
	w.put(w.gen, "k", 5, "same")
	w.put(w.gen, "other", 9, "another key")
	w.put(w.gen, "k", 7, "seven")
	if e := receive(t, ch); e.Seq != 7 || e.Value != "seven" {
		t.Errorf("then %+v, want only the newer value at 7", e)
	}
	w.put(w.gen, "new", 3, "three")
	if e := receive(t, empty); e.Seq != 3 {
		t.Errorf("a key's first value came as %+v", e)
	}
}

// Watchers that start while a key changes fast each see the last value,
// and never one older than a value they were sent.
func TestViewWatcherAddedDuringABurstMissesNothing(t *testing.T) {
	t.Parallel()
	w := openWatched(t)
	const last = 300
	first := w.watch("k") // keeps the bucket watch running
	done := make(chan struct{})
	go func() {
		defer close(done)
		for seq := uint64(1); seq <= last; seq++ {
			data, _ := json.Marshal(record[string]{Seq: seq, Value: "v"})
			if _, err := w.gen.Put(t.Context(), "k", data); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var late []<-chan Entry[string]
	for range 20 {
		late = append(late, w.watch("k"))
	}
	<-done
	receiveUntil(t, first, last)
	for _, ch := range late {
		receiveUntil(t, ch, last)
	}
}

// The bucket watch's consumer disappears (as it does with the NATS node
// that held it): the watch goes on with a new one.
func TestViewWatchOutlivesItsConsumer(t *testing.T) {
	t.Parallel()
	w := openWatched(t)
	ch := w.watch("k")
	receive(t, ch)
	stream, err := w.js.Stream(t.Context(), "KV_"+w.gen.Bucket())
	if err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for info := range stream.ListConsumers(t.Context()).Info() {
		if err := stream.DeleteConsumer(t.Context(), info.Name); err != nil {
			t.Fatal(err)
		}
		deleted++
	}
	if deleted != 1 {
		t.Fatalf("deleted %d consumers, want the watch's one", deleted)
	}
	w.put(w.gen, "k", 1, "after")
	if e := receive(t, ch); e.Value != "after" {
		t.Errorf("after losing its consumer the watch sent %+v", e)
	}
	w.put(w.gen, "k", 2, "again")
	receiveUntil(t, ch, 2)
}

// A swap to a new generation moves the watch to its bucket: watchers get
// the new generation's value (even at the same sequence) and its changes.
func TestViewWatchFollowsAGenerationSwap(t *testing.T) {
	t.Parallel()
	w := openWatched(t)
	w.put(w.gen, "k", 3, "old")
	ch := w.watch("k")
	receive(t, ch)

	next, err := w.js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: resourceName("w", 2), History: 1})
	if err != nil {
		t.Fatal(err)
	}
	w.put(next, "k", 3, "rebuilt")
	data, _ := json.Marshal(meta{Generation: 2})
	if _, err := w.view.meta.Put(t.Context(), "w", data); err != nil {
		t.Fatal(err)
	}
	if e := receive(t, ch); e.Seq != 3 || e.Value != "rebuilt" {
		t.Fatalf("after the swap %+v, want the new generation's value", e)
	}
	if err := w.js.DeleteKeyValue(t.Context(), w.gen.Bucket()); err != nil {
		t.Fatal(err)
	}
	w.put(next, "k", 4, "four")
	if e := receive(t, ch); e.Seq != 4 || e.Value != "four" {
		t.Errorf("then %+v, want the new generation's change", e)
	}
	if n := w.consumers(next.Bucket()); n != 1 {
		t.Errorf("%d consumers on the new bucket, want 1", n)
	}
}

// The last watcher leaving stops the bucket watch; the next one starts it.
func TestViewWatchStopsWithItsLastWatcher(t *testing.T) {
	t.Parallel()
	w := openWatched(t)
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := watchChan(ctx, w.view, "k")
	if err != nil {
		t.Fatal(err)
	}
	receive(t, ch)
	cancel()
	poll.Until(t, 10*time.Second, "the watch to close", func() bool {
		select {
		case _, ok := <-ch:
			return !ok
		default:
			return false
		}
	})
	w.view.watchers.mu.Lock()
	running := w.view.watchers.feed != nil
	w.view.watchers.mu.Unlock()
	if running {
		t.Error("the bucket watch runs with no watcher")
	}
	poll.Until(t, 10*time.Second, "the bucket watch's consumer to be deleted", func() bool {
		return w.consumers(w.gen.Bucket()) == 0
	})
	again := w.watch("k")
	receive(t, again)
	w.put(w.gen, "k", 1, "one")
	receiveUntil(t, again, 1)
}
