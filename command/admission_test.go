package command

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ironstar/internal/poll"
)

func newTestAdmission(inFlight, queued int, timeout time.Duration) *Admission {
	return NewAdmission(AdmissionOptions{MaxInFlight: inFlight, MaxQueued: queued, QueueTimeout: timeout}, slog.New(slog.DiscardHandler))
}

// waiter acquires in the background and reports what it got.
func waiter(ctx context.Context, a *Admission) <-chan error {
	got := make(chan error, 1)
	go func() {
		_, err := a.acquire(ctx)
		got <- err
	}()
	return got
}

func TestAdmissionQueuesInOrderAndRefusesPastTheQueue(t *testing.T) {
	t.Parallel()
	a := newTestAdmission(2, 2, time.Minute)
	// A refusal must come at once, not when this context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var held []func()
	for i := range 2 {
		release, err := a.acquire(ctx)
		if err != nil {
			t.Fatalf("command %d of 2 places: %v", i+1, err)
		}
		held = append(held, release)
	}
	first := waiter(ctx, a)
	poll.Until(t, 5*time.Second, "the first waiter to queue", func() bool { return a.queued.Load() == 1 })
	second := waiter(ctx, a)
	poll.Until(t, 5*time.Second, "the second waiter to queue", func() bool { return a.queued.Load() == 2 })

	if _, err := a.acquire(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("a command with every place and the whole queue taken: %v; want ErrBusy at once", err)
	}
	if n := a.queued.Load(); n != 2 {
		t.Errorf("the refused command left %d queued; want the 2 waiting", n)
	}

	// A freed place goes to the longest waiting command.
	held[0]()
	if err := <-first; err != nil {
		t.Fatalf("first waiter after a place came free: %v", err)
	}
	if n := a.queued.Load(); n != 1 {
		t.Fatalf("%d queued after one place came free; want the second waiter still waiting", n)
	}
	held[1]()
	if err := <-second; err != nil {
		t.Fatalf("second waiter: %v", err)
	}
}

func TestAdmissionRefusesAWaiterAtItsTimeoutAndForgetsOneGoneAway(t *testing.T) {
	t.Parallel()
	a := newTestAdmission(1, 5, 20*time.Millisecond)
	release, err := a.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.acquire(context.Background()); !errors.Is(err, ErrBusy) {
		t.Fatalf("a command still waiting at the timeout: %v; want ErrBusy", err)
	}

	long := newTestAdmission(1, 5, time.Minute)
	hold, _ := long.acquire(context.Background())
	defer hold()
	ctx, cancel := context.WithCancel(context.Background())
	gone := waiter(ctx, long)
	poll.Until(t, 5*time.Second, "the waiter to queue", func() bool { return long.queued.Load() == 1 })
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("a waiter whose client went away: %v; want context.Canceled", err)
	}
	if n := long.queued.Load(); n != 0 {
		t.Errorf("%d still queued after the only waiter went away", n)
	}

	release()
	if _, err := a.acquire(context.Background()); err != nil {
		t.Fatalf("a command after the place came free: %v", err)
	}
}

func TestAdmissionUnderConcurrentUseNeverPassesItsBound(t *testing.T) {
	t.Parallel()
	const places, commands = 3, 200
	a := newTestAdmission(places, commands, time.Minute)
	var running, most atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, commands)
	for range commands {
		wg.Go(func() {
			release, err := a.acquire(context.Background())
			if err != nil {
				errs <- err
				return
			}
			defer release()
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			running.Add(-1)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a command within the queue's size: %v", err)
	}
	if m := most.Load(); m > places || m < 1 {
		t.Errorf("at most %d ran at once; want 1 to %d", m, places)
	}
	if n := a.queued.Load(); n != 0 || len(a.slots) != 0 {
		t.Errorf("afterwards %d queued, %d places held; want none", n, len(a.slots))
	}
}

// Over HTTP a command past the bound is answered 503 with Retry-After and
// the feature's alert, and its handler does not run; once the place comes
// free the next command runs.
func TestAdmitAnswers503WithRetryAfterAndRunsNothing(t *testing.T) {
	t.Parallel()
	a := newTestAdmission(1, 0, time.Minute)
	entered, leave := make(chan struct{}), make(chan struct{})
	var ran atomic.Int64
	handler := a.Admit("todo-error")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ran.Add(1) == 1 {
			close(entered)
			<-leave
		}
	}))
	srv := httptest.NewServer(handler)
	defer srv.Close()

	held := make(chan int, 1)
	go func() {
		res, err := http.Post(srv.URL, "application/json", nil)
		if err != nil {
			held <- 0
			return
		}
		res.Body.Close()
		held <- res.StatusCode
	}()
	<-entered

	res, err := http.Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "1" {
		t.Errorf("a command past the bound = %d, Retry-After %q; want 503, 1", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if !strings.Contains(string(body), `id="todo-error"`) || !strings.Contains(string(body), "busy") {
		t.Errorf("a command past the bound answered %q; want the todo-error alert saying the server is busy", body)
	}
	if n := ran.Load(); n != 1 {
		t.Errorf("the handler ran %d times; want once (the refused command must not run)", n)
	}

	close(leave)
	if code := <-held; code != http.StatusOK {
		t.Fatalf("the admitted command = %d", code)
	}
	res, err = http.Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("a command after the place came free = %d; want 200", res.StatusCode)
	}
}

func TestNoAdmissionBoundLetsEverythingThrough(t *testing.T) {
	t.Parallel()
	a := newTestAdmission(0, 10, time.Second)
	if a != nil {
		t.Fatalf("MaxInFlight 0 made a bound: %+v", a)
	}
	ran := 0
	h := a.Admit("x")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran++ }))
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", nil))
	}
	if ran != 3 {
		t.Errorf("without a bound the handler ran %d of 3 times", ran)
	}
}

// BenchmarkAdmit is what the bound adds to a command that finds a place:
// go test -run '^$' -bench Admit -cpu 1,2,8 ./command
func BenchmarkAdmit(b *testing.B) {
	a := newTestAdmission(1<<20, 0, time.Second)
	h := a.Admit("x")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	b.RunParallel(func(pb *testing.PB) {
		w, r := httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", nil)
		for pb.Next() {
			h.ServeHTTP(w, r)
		}
	})
}
