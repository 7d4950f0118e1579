package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// watchers are a view's open watches, by key, and the one watch of the
// current generation's whole bucket that feeds them all: N watched keys
// cost N small entries in memory and one consumer, not N consumers.
//
// The bucket watch starts with the first watcher and stops when the last
// one leaves, so a process with no open streams is not sent every change
// of the read model. It follows generation swaps.
type watchers[V any] struct {
	mu    sync.Mutex
	byKey map[string][]*watcher[V] // replaced, never changed in place; no empty slices
	feed  *feed                    // nil while no key is watched
}

// feed is one run of the bucket watch.
type feed struct {
	// ready is closed once the watch has its start position (or failed to
	// get one: err).
	ready chan struct{}
	err   error
	// swapped says the meta bucket names a new generation.
	swapped chan struct{}
	stop    context.CancelFunc
}

// watcher is one Watch: where its values go, and the sequence of the
// newest value sent.
type watcher[V any] struct {
	mu     sync.Mutex
	send   func(Entry[V])
	end    func()
	seq    uint64
	sent   bool
	closed bool
}

// offer sends e unless the watcher has been sent a newer value (or the same
// one: sameToo resends a value at the same sequence, as a new generation
// may hold a different one).
func (w *watcher[V]) offer(e Entry[V], sameToo bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.sent && (e.Seq < w.seq || e.Seq == w.seq && !sameToo) {
		return
	}
	w.seq, w.sent = e.Seq, true
	w.send(e)
}

// abandon stops sending to w without ending it: Watch failed, and says so.
func (w *watcher[V]) abandon() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}

func (w *watcher[V]) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		w.end()
	}
}

// Watch follows the value under key until ctx ends: it calls send with the
// value now (a zero Entry if there is none yet), then with every newer
// value, one call at a time, and end once after the last send, when ctx
// ends or the view's does. send and end must return at once: they are
// called from the one goroutine that serves every key of the view (a slow
// reader keeps the newest value and skips older ones, as sse.Hub does).
// Each value is the whole read model at its sequence. The watch goes on
// through the loss of a NATS node and across generation swaps; it costs
// no consumer and no goroutine of its own.
func (v *View[V]) Watch(ctx context.Context, key string, send func(Entry[V]), end func()) error {
	w := &watcher[V]{send: send, end: end}
	f := v.register(key, w)
	fail := func(err error) error {
		w.abandon()
		v.unregister(key, w)
		return err
	}
	// Registered before the bucket watch has its start position and before
	// the read: a change after the read reaches w through the watch.
	select {
	case <-f.ready:
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	if f.err != nil {
		return fail(fmt.Errorf("projection %s: watch %q: %w", v.name, key, f.err))
	}
	current, err := v.Get(ctx, key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fail(err)
	}
	w.offer(current, false)
	context.AfterFunc(ctx, func() { v.unregister(key, w) })
	return nil
}

// register adds w under key and returns the bucket watch, started if it
// was not running.
func (v *View[V]) register(key string, w *watcher[V]) *feed {
	v.watchers.mu.Lock()
	defer v.watchers.mu.Unlock()
	ws := &v.watchers
	ws.byKey[key] = append(slices.Clip(ws.byKey[key]), w)
	if ws.feed == nil {
		ctx, stop := context.WithCancel(v.life)
		ws.feed = &feed{ready: make(chan struct{}), swapped: make(chan struct{}, 1), stop: stop}
		go v.follow(ctx, ws.feed)
	}
	return ws.feed
}

// unregister removes w and ends it; the last watcher leaving stops the
// bucket watch.
func (v *View[V]) unregister(key string, w *watcher[V]) {
	w.close()
	v.watchers.mu.Lock()
	defer v.watchers.mu.Unlock()
	ws := &v.watchers
	i := slices.Index(ws.byKey[key], w)
	if i < 0 {
		return
	}
	if rest := slices.Delete(slices.Clone(ws.byKey[key]), i, i+1); len(rest) > 0 {
		ws.byKey[key] = rest
	} else {
		delete(ws.byKey, key)
	}
	if len(ws.byKey) == 0 && ws.feed != nil {
		ws.feed.stop()
		ws.feed = nil
	}
}

// watchersOf returns the watchers of key (not to be changed).
func (v *View[V]) watchersOf(key string) []*watcher[V] {
	v.watchers.mu.Lock()
	defer v.watchers.mu.Unlock()
	return v.watchers.byKey[key]
}

// signalSwap tells the bucket watch, if one runs, that the generation
// changed.
func (v *View[V]) signalSwap() {
	v.watchers.mu.Lock()
	defer v.watchers.mu.Unlock()
	if f := v.watchers.feed; f != nil {
		select {
		case f.swapped <- struct{}{}:
		default:
		}
	}
}

// follow runs the bucket watch f until ctx ends: it watches the current
// generation's bucket and dispatches each change to the watchers of its
// key; after a swap it moves to the new generation's bucket and sends each
// watched key's value there.
func (v *View[V]) follow(ctx context.Context, f *feed) {
	defer f.stop()
	w, err := v.watchGeneration(ctx)
	f.err = err
	close(f.ready)
	if err != nil {
		v.dropFeed(f)
		return
	}
	for {
		select {
		case c, ok := <-w.changes:
			if !ok { // ctx ended
				if v.life.Err() != nil {
					v.closeAll()
				}
				return
			}
			v.dispatch(c)
		case <-f.swapped:
			w = v.moveGeneration(ctx, w)
		}
	}
}

// dispatch sends a change to the watchers of its key, decoding it once.
func (v *View[V]) dispatch(c change) {
	ws := v.watchersOf(c.key)
	if len(ws) == 0 || c.deleted {
		return
	}
	var rec record[V]
	if json.Unmarshal(c.value, &rec) != nil {
		return
	}
	for _, w := range ws {
		w.offer(Entry[V]{Value: rec.Value, Seq: rec.Seq}, false)
	}
}

// bucketWatch is the watch of one generation's bucket.
type bucketWatch struct {
	bucket  string
	changes <-chan change
	stop    context.CancelFunc
}

// watchGeneration watches the bucket of the current generation.
func (v *View[V]) watchGeneration(ctx context.Context) (bucketWatch, error) {
	kv, err := v.bucket(ctx, false)
	if err != nil {
		return bucketWatch{}, err
	}
	ctx, stop := context.WithCancel(ctx)
	changes, err := watchBucket(ctx, v.js, kv.Bucket())
	if err != nil {
		stop()
		return bucketWatch{}, err
	}
	return bucketWatch{bucket: kv.Bucket(), changes: changes, stop: stop}, nil
}

// moveGeneration watches the current generation's bucket, if it is not
// old's, and sends every watched key's value there. It returns the watch to
// follow from now on: old until a new one works.
func (v *View[V]) moveGeneration(ctx context.Context, old bucketWatch) bucketWatch {
	for ctx.Err() == nil {
		kv, err := v.bucket(ctx, true)
		if err == nil && kv.Bucket() == old.bucket {
			return old
		}
		if err == nil {
			var w bucketWatch
			if w, err = v.watchGeneration(ctx); err == nil {
				old.stop()
				v.resend(ctx)
				return w
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(watchMaxBackoff):
		}
	}
	return old
}

// resend sends every watched key's value in the current generation, even
// at the sequence a watcher has (a rebuilt generation may hold another
// value there).
func (v *View[V]) resend(ctx context.Context) {
	v.watchers.mu.Lock()
	keys := slices.Collect(maps.Keys(v.watchers.byKey))
	v.watchers.mu.Unlock()
	for _, key := range keys {
		e, err := v.Get(ctx, key)
		if err != nil {
			continue // none there, or unreadable: the watch brings the next one
		}
		for _, w := range v.watchersOf(key) {
			w.offer(e, true)
		}
	}
}

// dropFeed forgets f, which failed to start, so that the next Watch
// starts another.
func (v *View[V]) dropFeed(f *feed) {
	v.watchers.mu.Lock()
	defer v.watchers.mu.Unlock()
	if v.watchers.feed == f {
		v.watchers.feed = nil
	}
}

// closeAll ends every watcher: the view's lifetime ended.
func (v *View[V]) closeAll() {
	v.watchers.mu.Lock()
	defer v.watchers.mu.Unlock()
	for _, ws := range v.watchers.byKey {
		for _, w := range ws {
			w.close()
		}
	}
}
