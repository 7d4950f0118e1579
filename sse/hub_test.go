package sse

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ironstar/internal/poll"
)

// source is a watch whose values the test sends by hand.
type source struct {
	mu       sync.Mutex
	chans    map[string]chan int
	canceled atomic.Int32
}

func (s *source) watch(ctx context.Context, key string) (<-chan int, error) {
	ch := make(chan int, 8)
	s.mu.Lock()
	s.chans[key] = ch
	s.mu.Unlock()
	context.AfterFunc(ctx, func() { s.canceled.Add(1) })
	return ch, nil
}

func (s *source) send(key string, v int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chans[key] <- v
}

func next(t *testing.T, ch <-chan Frame) Frame {
	t.Helper()
	select {
	case f, ok := <-ch:
		if !ok {
			t.Fatal("channel closed")
		}
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no frame")
	}
	return Frame{}
}

func TestHubRendersOncePerViewAndShares(t *testing.T) {
	t.Parallel()
	src := &source{chans: map[string]chan int{}}
	var renders atomic.Int32
	hub := NewHub(src.watch, func(v int, view string) Frame {
		renders.Add(1)
		return PatchElements(uint64(v), []byte(view+"<p>\n</p>"))
	})
	ctx, cancel := context.WithCancel(context.Background())
	var subs []<-chan Frame
	for range 10 {
		ch, err := hub.Subscribe(ctx, "k", "a")
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, ch)
	}
	other, _ := hub.Subscribe(ctx, "k", "b")

	src.send("k", 7)
	first := next(t, subs[0])
	for _, ch := range subs[1:] {
		if f := next(t, ch); &f.Data[0] != &first.Data[0] {
			t.Fatal("a stream got its own rendering")
		}
	}
	if f := next(t, other); f.Seq != 7 || !strings.HasPrefix(string(f.Data), "event: datastar-patch-elements\nid: 7\ndata: elements b<p>\ndata: elements </p>\n\n") {
		t.Errorf("frame for view b = %q", f.Data)
	}
	if n := renders.Load(); n != 2 {
		t.Errorf("%d renders for one change and two views, want 2", n)
	}

	// A late subscriber gets the current state without a new render.
	late, _ := hub.Subscribe(ctx, "k", "a")
	if f := next(t, late); f.Seq != 7 || renders.Load() != 2 {
		t.Errorf("late subscriber: seq %d after %d renders", f.Seq, renders.Load())
	}

	// The last subscriber leaving stops the watch.
	cancel()
	poll.Until(t, 5*time.Second, "the watch to stop", func() bool { return src.canceled.Load() == 1 })
}

func TestHubDeliversTheNewestAndClosesWhenTheWatchEnds(t *testing.T) {
	t.Parallel()
	src := &source{chans: map[string]chan int{}}
	hub := NewHub(src.watch, func(v int, _ struct{}) Frame { return Frame{Seq: uint64(v)} })
	ch, _ := hub.Subscribe(t.Context(), "k", struct{}{})
	src.send("k", 1)
	src.send("k", 2)
	src.send("k", 3)
	// Wait until the hub has seen 3, then read: only the newest is there.
	deadline := time.Now().Add(5 * time.Second)
	var got Frame
	for got.Seq != 3 {
		got = next(t, ch)
		if time.Now().After(deadline) {
			t.Fatal("never saw 3")
		}
	}
	src.mu.Lock()
	close(src.chans["k"])
	src.mu.Unlock()
	select {
	case _, ok := <-ch:
		if ok {
			t.Error("a frame after the watch ended")
		}
	case <-time.After(5 * time.Second):
		t.Error("the stream was not closed when the watch ended")
	}
}
