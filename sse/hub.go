package sse

import (
	"bytes"
	"context"
	"fmt"
	"sync"
)

// Frame is one SSE event, ready to write to every stream it goes to.
type Frame struct {
	// Seq is the event-store sequence the frame reflects (its SSE id).
	Seq  uint64
	Data []byte
}

// Hub fans changes of keyed values (a read model per list, per counter…)
// out to open streams. A key with at least one subscriber in this process
// has one watch; each new value is rendered once per view in use (a filter,
// say) and the same bytes go to every stream with that view. A stream that
// falls behind skips to the newest frame, so every frame must carry the
// whole state it shows: nothing is then lost by skipping, and a stream that
// reconnects needs nothing but the current frame.
//
// Each key has its own lock and goroutine: opening a watch, waiting on it
// or rendering for one key never delays another key's frames. The hub's
// lock guards only its map of keys.
type Hub[T any, V comparable] struct {
	watch  func(ctx context.Context, key string) (<-chan T, error)
	render func(value T, view V) Frame

	mu    sync.Mutex
	feeds map[string]*feed[T, V]
}

// feed is one key's watch and the streams it goes to.
type feed[T any, V comparable] struct {
	// opened is closed once the watch is open, or failed to open (err).
	opened chan struct{}
	err    error
	cancel context.CancelFunc

	mu     sync.Mutex
	subs   map[*subscriber[V]]struct{}
	latest *T
	frames map[V]Frame // rendered from latest
	ended  bool        // no subscriber may join any more
}

type subscriber[V comparable] struct {
	view V
	ch   chan Frame // capacity 1: the newest frame not yet written
}

// NewHub returns a hub that watches values with watch (which must send the
// current value first, then every change, and close when it fails) and
// renders them with render.
func NewHub[T any, V comparable](watch func(ctx context.Context, key string) (<-chan T, error), render func(value T, view V) Frame) *Hub[T, V] {
	return &Hub[T, V]{watch: watch, render: render, feeds: map[string]*feed[T, V]{}}
}

// Subscribe returns the frames of key rendered for view, starting with the
// current state, until ctx ends. The channel is closed if the watch fails:
// the stream should then drop, so that its browser reconnects.
func (h *Hub[T, V]) Subscribe(ctx context.Context, key string, view V) (<-chan Frame, error) {
	sub := &subscriber[V]{view: view, ch: make(chan Frame, 1)}
	for {
		f, err := h.feed(ctx, key)
		if err != nil {
			return nil, err
		}
		f.mu.Lock()
		if f.ended { // its last stream left, or its watch ended: start anew
			f.mu.Unlock()
			continue
		}
		f.subs[sub] = struct{}{}
		if f.latest != nil {
			sub.ch <- h.frameFor(f, view)
		}
		f.mu.Unlock()
		context.AfterFunc(ctx, func() { h.unsubscribe(key, f, sub) })
		return sub.ch, nil
	}
}

// feed returns key's feed once its watch is open, opening it (outside the
// hub's lock) if the key has none.
func (h *Hub[T, V]) feed(ctx context.Context, key string) (*feed[T, V], error) {
	h.mu.Lock()
	f, ok := h.feeds[key]
	if !ok {
		f = &feed[T, V]{opened: make(chan struct{}), subs: map[*subscriber[V]]struct{}{}, frames: map[V]Frame{}}
		h.feeds[key] = f
	}
	h.mu.Unlock()
	if !ok {
		h.open(key, f)
		return f, f.err // the caller subscribes, or nothing would stop the watch
	}
	select {
	case <-f.opened:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return f, f.err
}

// open opens the watch of key's new feed f and starts delivering it.
func (h *Hub[T, V]) open(key string, f *feed[T, V]) {
	defer close(f.opened)
	watchCtx, cancel := context.WithCancel(context.Background())
	values, err := h.watch(watchCtx, key)
	if err != nil {
		cancel()
		f.err = err
		h.forget(key, f)
		return
	}
	f.cancel = cancel
	go h.run(key, f, values)
}

// forget removes f from the map if it is still key's feed.
func (h *Hub[T, V]) forget(key string, f *feed[T, V]) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.feeds[key] == f {
		delete(h.feeds, key)
	}
}

func (h *Hub[T, V]) unsubscribe(key string, f *feed[T, V], sub *subscriber[V]) {
	f.mu.Lock()
	if _, ok := f.subs[sub]; !ok {
		f.mu.Unlock()
		return // closed by run already
	}
	delete(f.subs, sub)
	last := len(f.subs) == 0
	if last {
		f.ended = true
	}
	f.mu.Unlock()
	if last {
		h.forget(key, f)
		f.cancel()
	}
}

// run delivers each new value to the key's subscribers; when the watch ends
// while streams are open, it closes them.
func (h *Hub[T, V]) run(key string, f *feed[T, V], values <-chan T) {
	for v := range values {
		f.mu.Lock()
		f.latest = &v
		clear(f.frames)
		for sub := range f.subs {
			fr := h.frameFor(f, sub.view)
			select { // drop an unwritten older frame for the newer one
			case <-sub.ch:
			default:
			}
			sub.ch <- fr
		}
		f.mu.Unlock()
	}
	h.forget(key, f)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = true
	for sub := range f.subs {
		close(sub.ch)
	}
	clear(f.subs)
	f.cancel()
}

// frameFor renders the latest value for view, once per change. The caller
// holds f.mu.
func (h *Hub[T, V]) frameFor(f *feed[T, V], view V) Frame {
	if fr, ok := f.frames[view]; ok {
		return fr
	}
	fr := h.render(*f.latest, view)
	f.frames[view] = fr
	return fr
}

// Merge forwards the frames of several subscriptions into one channel for
// Serve, until ctx ends or one of them closes (then the merged channel
// closes too, and the stream drops).
func Merge(ctx context.Context, sources ...<-chan Frame) <-chan Frame {
	out := make(chan Frame, len(sources))
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, src := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel()
			for {
				select {
				case <-ctx.Done():
					return
				case f, ok := <-src:
					if !ok {
						return
					}
					select {
					case out <- f:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		cancel()
		close(out)
	}()
	return out
}

// PatchElements formats a datastar-patch-elements event carrying html, with
// seq as its id (none for 0: a state with no events has no position).
func PatchElements(seq uint64, html []byte) Frame {
	return event("datastar-patch-elements", "elements", seq, html)
}

// PatchSignals formats a datastar-patch-signals event carrying the JSON
// object signals, with seq as its id (none for 0).
func PatchSignals(seq uint64, signals []byte) Frame {
	return event("datastar-patch-signals", "signals", seq, signals)
}

// event formats one SSE event of Datastar's protocol: each line of the
// payload goes into its own data line, behind the payload's name.
func event(name, field string, seq uint64, payload []byte) Frame {
	var b bytes.Buffer
	b.WriteString("event: " + name + "\n")
	if seq > 0 {
		fmt.Fprintf(&b, "id: %d\n", seq)
	}
	for line := range bytes.Lines(payload) {
		b.WriteString("data: " + field + " ")
		b.Write(bytes.TrimRight(line, "\r\n"))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return Frame{Seq: seq, Data: b.Bytes()}
}
