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
	hub := NewHub(FromChannel(src.watch), func(v int, variant string) Frame {
		renders.Add(1)
		return PatchElements(uint64(v), []byte(variant+"<p>\n</p>"))
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
		t.Errorf("frame for variant b = %q", f.Data)
	}
	if n := renders.Load(); n != 2 {
		t.Errorf("%d renders for one change and two variants, want 2", n)
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
	hub := NewHub(FromChannel(src.watch), func(v int, _ struct{}) Frame { return Frame{Seq: uint64(v)} })
	ch, _ := hub.Subscribe(t.Context(), "k", struct{}{})
	src.send("k", 1)
	src.send("k", 2)
	src.send("k", 3)
	// Wait until the hub has seen 3, then read: only the newest is there.
	poll.Until(t, 5*time.Second, "the frame of 3", func() bool { return next(t, ch).Seq == 3 })
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

// A key whose watch hangs while it opens, or whose rendering hangs, holds
// up its own streams only: another key's frames go on flowing.
func TestHubKeyThatHangsDelaysNoOtherKey(t *testing.T) {
	t.Parallel()
	src := &source{chans: map[string]chan int{}}
	release := make(chan struct{})
	watch := func(ctx context.Context, key string) (<-chan int, error) {
		if key == "hung" {
			<-release
		}
		return src.watch(ctx, key)
	}
	const stuck = -1 // a value whose rendering hangs
	hub := NewHub(FromChannel(watch), func(v int, _ struct{}) Frame {
		if v == stuck {
			<-release
		}
		return Frame{Seq: uint64(v)}
	})
	hung := make(chan (<-chan Frame))
	go func() {
		ch, err := hub.Subscribe(t.Context(), "hung", struct{}{})
		if err != nil {
			t.Error(err)
		}
		hung <- ch
	}()
	poll.Until(t, 5*time.Second, "the hung key's watch to be opening", func() bool {
		hub.mu.Lock()
		defer hub.mu.Unlock()
		return hub.feeds["hung"] != nil
	})
	// A second stream of the hung key waits for the same watch, until its
	// context ends.
	waitCtx, stopWaiting := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer stopWaiting()
	if _, err := hub.Subscribe(waitCtx, "hung", struct{}{}); err == nil {
		t.Error("a stream of a key whose watch hangs subscribed before the watch opened")
	}

	rendering, _ := hub.Subscribe(t.Context(), "rendering", struct{}{})
	src.send("rendering", stuck)
	fast, err := hub.Subscribe(t.Context(), "fast", struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 3; v++ {
		src.send("fast", v)
		if f := next(t, fast); f.Seq != uint64(v) {
			t.Fatalf("fast key: frame %d, want %d", f.Seq, v)
		}
	}

	close(release)
	ch := <-hung
	src.send("hung", 4)
	if f := next(t, ch); f.Seq != 4 {
		t.Errorf("the hung key, released: frame %d, want 4", f.Seq)
	}
	src.send("rendering", 5)
	for f := next(t, rendering); f.Seq != 5; f = next(t, rendering) {
	}
}

func TestMergeForwardsEverySourceAndClosesWithTheFirstToEnd(t *testing.T) {
	t.Parallel()
	a, b := make(chan Frame, 1), make(chan Frame, 1)
	merged := Merge(t.Context(), a, b)
	a <- Frame{Seq: 1}
	if f := next(t, merged); f.Seq != 1 {
		t.Errorf("frame %d from a, want 1", f.Seq)
	}
	b <- Frame{Seq: 2}
	if f := next(t, merged); f.Seq != 2 {
		t.Errorf("frame %d from b, want 2", f.Seq)
	}
	close(b)
	select {
	case _, ok := <-merged:
		if ok {
			t.Error("a frame after a source closed")
		}
	case <-time.After(5 * time.Second):
		t.Error("the merged channel stayed open after a source closed")
	}

	ctx, cancel := context.WithCancel(t.Context())
	merged = Merge(ctx, make(chan Frame))
	cancel()
	select {
	case _, ok := <-merged:
		if ok {
			t.Error("a frame from nowhere")
		}
	case <-time.After(5 * time.Second):
		t.Error("the merged channel stayed open after its context ended")
	}
}

func TestSampledSamplesUntilItsContextEndsAndSkipsFailures(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	watch := Sampled(time.Millisecond, func(context.Context) (int32, error) {
		n := calls.Add(1)
		if n == 2 {
			return 0, context.DeadlineExceeded // skipped
		}
		return n, nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	values, err := watch(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	for v := range values {
		if v == 2 {
			t.Fatal("a failed sample was sent")
		}
		if v >= 4 {
			break
		}
	}
	cancel()
	for range values { // closed once sampling has stopped
	}
}
