package sse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"ironstar/internal/poll"
)

func TestLimiterCapsStreamsPerKeyAndPerProcess(t *testing.T) {
	t.Parallel()
	l := NewLimiter(5, Cap{Max: 2})
	var releases []func()
	take := func(key string) bool {
		release, ok := l.Acquire(key)
		if ok {
			releases = append(releases, release)
		}
		return ok
	}
	if !take("a") || !take("a") {
		t.Fatal("a key's first two streams were refused")
	}
	if take("a") {
		t.Error("a key's third stream was allowed past its cap of 2")
	}
	if !take("b") || !take("b") || !take("") {
		t.Fatal("other keys were refused before the process cap")
	}
	if all, a := l.Open("a"); all != 5 || a[0] != 2 {
		t.Errorf("open = %d, for a %d; want 5, 2", all, a)
	}
	if take("c") || take("") {
		t.Error("a stream was allowed past the process cap of 5")
	}

	// Releasing one of a's places lets a open another; releasing twice
	// gives back only one place.
	releases[0]()
	releases[0]()
	if all, a := l.Open("a"); all != 4 || a[0] != 1 {
		t.Errorf("after one release: open = %d, for a %d; want 4, 1", all, a)
	}
	if !take("a") {
		t.Error("a's stream was refused after a place came free")
	}
	if take("a") {
		t.Error("a double release gave back two places")
	}
	for _, release := range releases {
		release()
	}
	if all, _ := l.Open(""); all != 0 || len(l.byKey[0]) != 0 {
		t.Errorf("after releasing all: open = %d, keys kept = %d", all, len(l.byKey[0]))
	}
}

func TestLimiterUnderConcurrentUseNeverPassesItsCaps(t *testing.T) {
	t.Parallel()
	l := NewLimiter(10, Cap{Max: 3})
	var (
		mu        sync.Mutex
		peak      int
		peakByKey = map[string]int{}
		wg        sync.WaitGroup
	)
	for i := range 16 {
		key := string(rune('a' + i%4))
		wg.Go(func() {
			for range 500 {
				release, ok := l.Acquire(key)
				if !ok {
					continue
				}
				all, forKey := l.Open(key)
				mu.Lock()
				peak = max(peak, all)
				peakByKey[key] = max(peakByKey[key], forKey[0])
				mu.Unlock()
				release()
			}
		})
	}
	wg.Wait()
	if peak > 10 {
		t.Errorf("%d streams open at once, cap 10", peak)
	}
	for key, n := range peakByKey {
		if n > 3 {
			t.Errorf("key %s had %d streams open at once, cap 3", key, n)
		}
	}
	if all, _ := l.Open(""); all != 0 {
		t.Errorf("%d places still taken after every stream ended", all)
	}
}

// A client that takes a new session for every stream is still held to
// its per-client cap, which leaves the rest of the process's places to
// other clients.
func TestLimiterCapsAClientWhateverItsSessions(t *testing.T) {
	t.Parallel()
	l := NewLimiter(8, Cap{Max: 2}, Cap{Max: 3})
	var releases []func()
	for i := range 3 {
		release, ok := l.Acquire(fmt.Sprint("churned-", i), "10.0.0.1")
		if !ok {
			t.Fatalf("the client's stream %d (a fresh session) was refused below its cap of 3", i+1)
		}
		releases = append(releases, release)
	}
	if _, ok := l.Acquire("churned-3", "10.0.0.1"); ok {
		t.Fatal("a 4th stream from one client was allowed past its cap of 3 by a fresh session")
	}
	if _, ok := l.Acquire("s", "10.0.0.2"); !ok {
		t.Fatal("another client was refused while places remain")
	}
	all, open := l.Open("churned-0", "10.0.0.1")
	if all != 4 || open[0] != 1 || open[1] != 3 {
		t.Errorf("open = %d, session %d, client %d; want 4, 1, 3", all, open[0], open[1])
	}
	releases[0]()
	if _, ok := l.Acquire("churned-4", "10.0.0.1"); !ok {
		t.Error("the client's stream was refused after one of its places came free")
	}
	// A request with no client key (no TCP peer) meets the other caps only.
	if _, ok := l.Acquire("x", ""); !ok {
		t.Error("a stream without a client key was refused")
	}
}

// TestStreamAtItsCapAnswers503WithRetryAfter opens streams through Stream
// over HTTP: the one past the session's cap is refused with 503 and
// Retry-After, and a place comes free when a stream's client goes away.
func TestStreamAtItsCapAnswers503WithRetryAfter(t *testing.T) {
	t.Parallel()
	l := NewLimiter(0, Cap{Max: 2, Key: func(r *http.Request) string { return r.Header.Get("Session") }})
	stream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Stream(w, r, nil, func(ctx context.Context) (<-chan Frame, error) {
			ch := make(chan Frame, 1)
			ch <- PatchSignals(1, []byte(`{"n":1}`))
			return ch, nil
		})
	})
	srv := httptest.NewServer(WithLimiter(l)(stream))
	defer srv.Close()

	open := func(session string) (*http.Response, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		req.Header.Set("Session", session)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode == http.StatusOK {
			// The first frame shows the stream is open, its place taken.
			if line, err := bufio.NewReader(res.Body).ReadString('\n'); err != nil || !strings.HasPrefix(line, "event:") {
				t.Fatalf("first line %q, %v", line, err)
			}
		}
		return res, cancel
	}
	_, cancel1 := open("s")
	_, cancel2 := open("s")
	defer cancel2()
	res, cancel3 := open("s")
	cancel3()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "5" {
		t.Fatalf("third stream of a session = %d, Retry-After %q; want 503, 5", res.StatusCode, res.Header.Get("Retry-After"))
	}
	other, cancelOther := open("t")
	cancelOther()
	if other.StatusCode != http.StatusOK {
		t.Errorf("another session's stream = %d, want 200", other.StatusCode)
	}

	cancel1()
	poll.Until(t, 5*time.Second, "the closed stream's place to come free", func() bool { _, n := l.Open("s"); return n[0] < 2 })
	again, cancelAgain := open("s")
	cancelAgain()
	if again.StatusCode != http.StatusOK {
		t.Errorf("stream after one closed = %d, want 200", again.StatusCode)
	}
}

// TestAStreamRefusedIsA503WithRetryAfter: a stream past a cap gets a plain
// 503 with Retry-After, which the pages' streams retry (retry 'always').
func TestAStreamRefusedIsA503WithRetryAfter(t *testing.T) {
	t.Parallel()
	l := NewLimiter(1)
	taken, _ := l.Acquire()
	defer taken()
	srv := httptest.NewServer(WithLimiter(l)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Stream(w, r, nil, func(context.Context) (<-chan Frame, error) { return nil, errors.New("not reached: refused first") })
	})))
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Datastar-Request", "true")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "5" || err != nil || !strings.Contains(string(body), "too many open update streams") {
		t.Errorf("refused = %d, Retry-After %q, body %q, %v; want 503, 5, the reason", res.StatusCode, res.Header.Get("Retry-After"), body, err)
	}
}
