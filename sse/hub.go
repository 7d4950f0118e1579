package sse

import (
	"bytes"
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"
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
// has one watch; each new value is rendered once per variant in use (a filter,
// say) and the same bytes go to every stream with that variant. A stream that
// falls behind skips to the newest frame, so every frame must carry the
// whole state it shows: nothing is then lost by skipping, and a stream that
// reconnects needs nothing but the current frame.
//
// Each key has its own lock, and a goroutine only while it has a new value
// to render and deliver: an idle stream costs no goroutine of the hub, and
// opening a watch, waiting on it or rendering for one key never delays
// another key's frames. The hub's lock guards only its map of keys.
type Hub[T any, V comparable] struct {
	watch  func(ctx context.Context, key string, send func(T), end func()) error
	render func(value T, variant V) Frame

	mu    sync.Mutex
	feeds map[string]*feed[T, V]
}

// feed is one key's watch and the streams it goes to.
type feed[T any, V comparable] struct {
	// opened is closed once the watch is open, or failed to open (err).
	opened chan struct{}
	err    error
	cancel context.CancelFunc

	mu         sync.Mutex
	subs       map[*subscriber[V]]struct{}
	latest     *T
	version    uint64      // of latest: how many values were sent
	frames     map[V]Frame // rendered from latest at version framesOf
	framesOf   uint64
	delivering bool // a goroutine renders and delivers
	ended      bool // no subscriber may join any more
}

type subscriber[V comparable] struct {
	meter   StreamMeter // of the stream it feeds
	variant V
	ch      chan Frame // capacity 1: the newest frame not yet written
	version uint64     // of the newest frame sent
}

// NewHub returns a hub that follows values with watch and renders them with
// render.
//
// watch follows the value under a key until ctx ends: it calls send with
// the current value, then with every newer one, one call at a time, and
// calls end once after the last send, when it stops (ctx ended, or it
// failed). send and end return at once. If watch returns an error, it
// calls neither. FromChannel adapts a watch that sends on a channel.
func NewHub[T any, V comparable](watch func(ctx context.Context, key string, send func(T), end func()) error, render func(value T, variant V) Frame) *Hub[T, V] {
	return &Hub[T, V]{watch: watch, render: render, feeds: map[string]*feed[T, V]{}}
}

// FromChannel adapts watch, which sends values on a channel that it closes
// when it stops, to NewHub's watch. It costs a goroutine per watched key:
// fine for a key or two.
func FromChannel[T any](watch func(ctx context.Context, key string) (<-chan T, error)) func(context.Context, string, func(T), func()) error {
	return func(ctx context.Context, key string, send func(T), end func()) error {
		values, err := watch(ctx, key)
		if err != nil {
			return err
		}
		go func() {
			defer end()
			for v := range values {
				send(v)
			}
		}()
		return nil
	}
}

// Subscribe returns the frames of key rendered for variant, starting with the
// current state, until ctx ends. The channel is closed if the watch fails:
// the stream should then drop, so that its browser reconnects.
func (h *Hub[T, V]) Subscribe(ctx context.Context, key string, variant V) (<-chan Frame, error) {
	sub := &subscriber[V]{meter: meterOf(ctx), variant: variant, ch: make(chan Frame, 1)}
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
			if fr, ok := f.frames[variant]; ok && f.framesOf == f.version {
				sub.offer(fr, f.version)
			} else {
				h.deliverLater(f)
			}
		}
		f.mu.Unlock()
		context.AfterFunc(ctx, func() { h.unsubscribe(key, f, sub) })
		return sub.ch, nil
	}
}

// offer replaces an unwritten older frame with fr. The caller holds the
// feed's lock.
func (s *subscriber[V]) offer(fr Frame, version uint64) {
	select {
	case <-s.ch:
		s.meter.Dropped()
	default:
	}
	s.ch <- fr
	s.version = version
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

// open opens the watch of key's new feed f.
func (h *Hub[T, V]) open(key string, f *feed[T, V]) {
	defer close(f.opened)
	watchCtx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	send := func(v T) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.ended {
			f.latest = &v
			f.version++
			h.deliverLater(f)
		}
	}
	if err := h.watch(watchCtx, key, send, func() { h.end(key, f) }); err != nil {
		cancel()
		f.err = err
		h.forget(key, f)
	}
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
		return // closed by end already
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

// end closes the streams of a watch that stopped.
func (h *Hub[T, V]) end(key string, f *feed[T, V]) {
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

// deliverLater starts delivering f's latest value unless that is under
// way. The caller holds the feed's lock.
func (h *Hub[T, V]) deliverLater(f *feed[T, V]) {
	if !f.delivering {
		f.delivering = true
		go h.deliver(f)
	}
}

// deliver renders the latest value for each variant a subscriber lacks it in
// (once per variant, outside the feed's lock) and sends the frames, until every
// subscriber has the newest.
func (h *Hub[T, V]) deliver(f *feed[T, V]) {
	for {
		f.mu.Lock()
		version, value := f.version, f.latest
		if f.framesOf != version {
			clear(f.frames)
			f.framesOf = version
		}
		var behind bool
		var variants []V // to render
		for sub := range f.subs {
			if sub.version == version {
				continue
			}
			behind = true
			if _, ok := f.frames[sub.variant]; !ok && !slices.Contains(variants, sub.variant) {
				variants = append(variants, sub.variant)
			}
		}
		if !behind || f.ended {
			f.delivering = false
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()

		frames := make([]Frame, len(variants))
		for i, variant := range variants {
			frames[i] = h.render(*value, variant)
		}

		f.mu.Lock()
		if f.version == version { // else render the newer value
			for i, variant := range variants {
				f.frames[variant] = frames[i]
			}
			for sub := range f.subs {
				if fr, ok := f.frames[sub.variant]; ok && sub.version != version {
					sub.offer(fr, version)
				}
			}
		}
		f.mu.Unlock()
	}
}

// Merge forwards the frames of several subscriptions into one channel for
// Serve, until ctx ends or one of them closes (then the merged channel
// closes too, and the stream drops). One goroutine serves them all.
func Merge(ctx context.Context, sources ...<-chan Frame) <-chan Frame {
	out := make(chan Frame, len(sources))
	cases := make([]reflect.SelectCase, 0, 1+len(sources))
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	for _, src := range sources {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(src)})
	}
	go func() {
		defer close(out)
		for {
			chosen, v, ok := reflect.Select(cases)
			if chosen == 0 || !ok {
				return
			}
			select {
			case out <- v.Interface().(Frame):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// PatchElements formats a datastar-patch-elements event carrying html, with
// seq as its id (none for 0: a state with no events has no position).
func PatchElements(seq uint64, html []byte) Frame {
	return event("datastar-patch-elements", elementsLine, seq, html)
}

// PatchElementsAt formats a datastar-patch-elements event that patches
// html into the elements selector picks, in mode ("prepend", "append",
// "remove": Datastar's patch modes), with seq as its id (none for 0). A
// remove carries no html. selector and mode are the caller's constants:
// a line break in either would end its field.
func PatchElementsAt(seq uint64, selector, mode string, html []byte) Frame {
	if strings.ContainsAny(selector+mode, "\r\n") {
		panic("sse: a patch's selector or mode holds a line break")
	}
	b := make([]byte, 0, 128+len(selector)+len(html)+bytes.Count(html, []byte{'\n'})*len(elementsLine))
	b = append(b, "event: datastar-patch-elements\n"...)
	if seq > 0 {
		b = append(b, "id: "...)
		b = strconv.AppendUint(b, seq, 10)
		b = append(b, '\n')
	}
	b = append(b, "data: selector "+selector+"\ndata: mode "+mode+"\n"...)
	if len(html) > 0 {
		b = appendLines(b, elementsLine, html)
	}
	return Frame{Seq: seq, Data: append(b, '\n')}
}

// PatchSignals formats a datastar-patch-signals event carrying the JSON
// object signals, with seq as its id (none for 0).
func PatchSignals(seq uint64, signals []byte) Frame {
	return event("datastar-patch-signals", "data: signals ", seq, signals)
}

// elementsLine begins each data line of a patch of elements.
const elementsLine = "data: elements "

// event formats one SSE event of Datastar's protocol: each line of the
// payload goes into its own data line, behind dataPrefix. A line
// ends at CR LF, LF or a lone CR, as an SSE parser (a browser's, and
// Datastar's) ends it: a payload split on LF alone would let a CR in user
// text end its data line there and start a field of the attacker's choice,
// a whole event even (see FuzzEventFraming). HTML loses nothing by it: its
// parser reads CR and CR LF as LF. The frame is allocated once, at its
// final size: on a busy page, frames are most of what the server allocates.
func event(name, dataPrefix string, seq uint64, payload []byte) Frame {
	lines := bytes.Count(payload, []byte{'\n'}) + bytes.Count(payload, []byte{'\r'}) + 1
	b := make([]byte, 0, len("event: \nid: 18446744073709551615\n\n")+len(name)+lines*(len(dataPrefix)+1)+len(payload))
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, '\n')
	if seq > 0 {
		b = append(b, "id: "...)
		b = strconv.AppendUint(b, seq, 10)
		b = append(b, '\n')
	}
	b = appendLines(b, dataPrefix, payload)
	b = append(b, '\n')
	return Frame{Seq: seq, Data: b}
}

// appendLines appends each line of text to b behind prefix, each ended by
// LF. Lines end at CR LF, LF or a lone CR; a terminator at the very end
// ends the last line rather than starting an empty one.
func appendLines(b []byte, prefix string, text []byte) []byte {
	for {
		i := bytes.IndexAny(text, "\r\n")
		b = append(b, prefix...)
		if i < 0 {
			b = append(b, text...)
			return append(b, '\n')
		}
		b = append(b, text[:i]...)
		b = append(b, '\n')
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		text = text[i+1:]
		if len(text) == 0 {
			return b
		}
	}
}

// ExecuteScript formats a frame that runs script once in the page: a script
// element appended to the body that removes itself, as datastar-go's
// ExecuteScript sends it. id, unless empty, is the frame's SSE id; an id
// holding a line break or NUL is left out (no browser would send it back).
func ExecuteScript(id, script string) Frame {
	b := []byte("event: datastar-patch-elements\n")
	if id != "" && !strings.ContainsAny(id, "\r\n\x00") {
		b = append(b, "id: "+id+"\n"...)
	}
	b = append(b, "data: selector body\ndata: mode append\n"...)
	b = appendLines(b, elementsLine, []byte(`<script data-effect="el.remove()">`+script+`</script>`))
	return Frame{Data: append(b, '\n')}
}
