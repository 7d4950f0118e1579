package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats/jetstreamx"
)

// ErrNotFound means the read model has no value under the key.
var ErrNotFound = errors.New("projection: not found")

// Entry is a read-model value and the sequence of the last event in it.
type Entry[V any] struct {
	Value V
	Seq   uint64
}

// View reads a projection's current generation and follows swaps.
type View[V any] struct {
	js   jetstream.JetStream
	name string
	meta jetstream.KeyValue
	// life ends the view's watches.
	life context.Context

	mu  sync.Mutex
	gen uint64
	kv  jetstream.KeyValue

	watchers watchers[V]
}

// OpenView opens the read side of the projection called name. The view
// follows generation swaps, and its watches run, until ctx ends.
func OpenView[V any](ctx context.Context, js jetstream.JetStream, name string) (*View[V], error) {
	meta, err := js.KeyValue(ctx, MetaBucket)
	if err != nil {
		return nil, fmt.Errorf("projection %s: view: %w (start its runner first)", name, err)
	}
	v := &View[V]{js: js, name: name, meta: meta, life: ctx}
	v.watchers.byKey = map[string][]*watcher[V]{}
	if _, err := v.bucket(ctx, true); err != nil {
		return nil, err
	}
	swaps, err := watchKey(ctx, js, MetaBucket, name, true)
	if err != nil {
		return nil, fmt.Errorf("projection %s: view: %w", name, err)
	}
	go func() {
		for range swaps {
			v.mu.Lock()
			v.kv = nil // re-read the generation on the next Get
			v.mu.Unlock()
			v.signalSwap()
		}
	}()
	return v, nil
}

// bucket returns the current generation's bucket, re-reading the meta key
// when refresh is set.
func (v *View[V]) bucket(ctx context.Context, refresh bool) (jetstream.KeyValue, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.kv != nil && !refresh {
		return v.kv, nil
	}
	// v.kv is nil after a swap or before the first read.
	m, err := currentMeta(ctx, v.js, v.meta, v.name, 0)
	if err != nil {
		return nil, err
	}
	number := m.Generation
	if v.kv != nil && number == v.gen {
		return v.kv, nil
	}
	kv, err := v.js.KeyValue(ctx, resourceName(v.name, number))
	if err != nil {
		return nil, fmt.Errorf("projection %s: generation %d: %w", v.name, number, err)
	}
	v.gen, v.kv = number, kv
	return kv, nil
}

// Get returns the value under key, or ErrNotFound.
func (v *View[V]) Get(ctx context.Context, key string) (Entry[V], error) {
	kv, err := v.bucket(ctx, false)
	if err != nil {
		return Entry[V]{}, err
	}
	// From the bucket's leader (see jetstreamx.KVGet): a page must not show an
	// older read model than one it was already sent.
	value, _, err := jetstreamx.KVGet(ctx, v.js, kv, key)
	if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) || isStreamGone(err) {
		// Swapped and deleted since we looked: read the new generation.
		if kv, err = v.bucket(ctx, true); err == nil {
			value, _, err = jetstreamx.KVGet(ctx, v.js, kv, key)
		}
	}
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Entry[V]{}, ErrNotFound
	}
	if err != nil {
		return Entry[V]{}, fmt.Errorf("projection %s: get %q: %w", v.name, key, err)
	}
	var rec record[V]
	if err := json.Unmarshal(value, &rec); err != nil {
		return Entry[V]{}, fmt.Errorf("projection %s: decode %q: %w", v.name, key, err)
	}
	return Entry[V]{Value: rec.Value, Seq: rec.Seq}, nil
}

// isStreamGone reports JetStream's "stream not found" as a raw API error.
func isStreamGone(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamNotFound
}

// All returns every value of the current generation, by key.
func (v *View[V]) All(ctx context.Context) (map[string]Entry[V], error) {
	kv, err := v.bucket(ctx, true)
	if err != nil {
		return nil, err
	}
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]Entry[V]{}
	for key := range lister.Keys() {
		e, err := v.Get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[key] = e
	}
	return out, nil
}
