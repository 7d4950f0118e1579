package todo

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"ironstar/features/todo/components"
	"ironstar/nats/projection"
)

// frame is one SSE event ready to write: the list's fragments for one
// filter at one stream sequence.
type frame struct {
	seq  uint64
	data []byte
}

// hub fans a list's changes out to its open streams. Each list with at
// least one open stream in this process has one KV watch; each change is
// rendered once per filter in use, and the same bytes go to every stream.
// A stream that falls behind skips to the newest frame: every frame is the
// whole list, so nothing is lost by skipping.
type hub struct {
	view   *projection.View[ListView]
	logger *slog.Logger

	mu    sync.Mutex
	lists map[string]*feed
}

// feed is one list's watch and its subscribers.
type feed struct {
	cancel context.CancelFunc
	subs   map[*subscriber]struct{}
	latest *projection.Entry[ListView]
	frames map[components.Filter]frame // rendered for latest
}

type subscriber struct {
	filter components.Filter
	ch     chan frame // capacity 1: the newest frame not yet written
}

func newHub(view *projection.View[ListView], logger *slog.Logger) *hub {
	return &hub{view: view, logger: logger, lists: map[string]*feed{}}
}

// subscribe returns the frames of list for filter, starting with the
// current state if there is one, until ctx ends.
func (h *hub) subscribe(ctx context.Context, list string, filter components.Filter) (<-chan frame, error) {
	sub := &subscriber{filter: filter, ch: make(chan frame, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.lists[list]
	if !ok {
		watchCtx, cancel := context.WithCancel(context.Background())
		entries, err := h.view.Watch(watchCtx, list)
		if err != nil {
			cancel()
			return nil, err
		}
		f = &feed{cancel: cancel, subs: map[*subscriber]struct{}{}, frames: map[components.Filter]frame{}}
		h.lists[list] = f
		go h.run(list, f, entries)
	}
	f.subs[sub] = struct{}{}
	if f.latest != nil {
		sub.ch <- h.frameFor(f, filter)
	}
	context.AfterFunc(ctx, func() { h.unsubscribe(list, f, sub) })
	return sub.ch, nil
}

func (h *hub) unsubscribe(list string, f *feed, sub *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := f.subs[sub]; !ok {
		return // closed by run already
	}
	delete(f.subs, sub)
	if len(f.subs) == 0 && h.lists[list] == f {
		delete(h.lists, list)
		f.cancel()
	}
}

// run delivers each new state of the list to its subscribers. If the
// watch ends while streams are open (NATS went away), it closes them: their
// handlers drop the connections and the browsers reconnect and resubscribe.
func (h *hub) run(list string, f *feed, entries <-chan projection.Entry[ListView]) {
	defer func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.lists[list] == f {
			delete(h.lists, list)
			for sub := range f.subs {
				close(sub.ch)
			}
			clear(f.subs)
		}
	}()
	for e := range entries {
		h.mu.Lock()
		f.latest = &e
		clear(f.frames)
		for sub := range f.subs {
			fr := h.frameFor(f, sub.filter)
			select { // drop an unwritten older frame for the newer one
			case <-sub.ch:
			default:
			}
			sub.ch <- fr
		}
		h.mu.Unlock()
	}
}

// frameFor renders the latest state for filter, once per change.
func (h *hub) frameFor(f *feed, filter components.Filter) frame {
	if fr, ok := f.frames[filter]; ok {
		return fr
	}
	var html bytes.Buffer
	vm := viewModel(f.latest.Value, filter)
	vm.Live, vm.Seq = true, f.latest.Seq
	if err := components.Body(vm).Render(context.Background(), &html); err != nil {
		h.logger.Error("todo: render", "err", err)
	}
	fr := frame{seq: f.latest.Seq, data: patchElements(f.latest.Seq, html.Bytes())}
	f.frames[filter] = fr
	return fr
}

// patchElements formats a datastar-patch-elements event whose id is the
// stream sequence the fragments reflect.
func patchElements(seq uint64, html []byte) []byte {
	var b bytes.Buffer
	b.WriteString("event: datastar-patch-elements\n")
	if seq > 0 { // a list with no events yet has no position to resume from
		fmt.Fprintf(&b, "id: %s\n", strconv.FormatUint(seq, 10))
	}
	for line := range bytes.Lines(html) {
		b.WriteString("data: elements ")
		b.Write(bytes.TrimRight(line, "\r\n"))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// viewModel picks and counts the items a filter shows.
func viewModel(l ListView, filter components.Filter) components.ListVM {
	vm := components.ListVM{Total: len(l.Items), Filter: filter}
	for _, it := range l.Items {
		if it.Completed {
			vm.Done++
		} else {
			vm.Left++
		}
		if filter == components.All || (filter == components.Completed) == it.Completed {
			vm.Items = append(vm.Items, components.ItemVM{ID: it.ID, Text: it.Text, Completed: it.Completed})
		}
	}
	return vm
}
