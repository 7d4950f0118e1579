//ironstar:needs todo

package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// With a tiny bound on the commands in flight, a burst of concurrent
// commands gets some 503s with Retry-After and the feature's alert, never a
// 500; every command answered 200 is stored exactly once and every refused
// one not at all; after the burst commands go through again.
func TestCommandsPastTheProcessBoundAre503AndNothingAcknowledgedIsLost(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{env: []string{"COMMAND_MAX_INFLIGHT=1", "COMMAND_MAX_QUEUED=4", "COMMAND_QUEUE_TIMEOUT=100ms"}})
	const sessions, perSession = 6, 5
	clients := newClients(t, a.URL, sessions)

	var (
		mu      sync.Mutex
		acked   = make([][]string, sessions)
		refused int
	)
	// Bursts until one overflows the bound (the first almost surely does).
	for burst := 0; refused == 0; burst++ {
		if burst == 10 {
			t.Fatal("10 bursts of 30 concurrent commands never met the bound of 1 in flight + 4 queued")
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, c := range clients {
			for n := range perSession {
				title := fmt.Sprintf("b%d s%d n%d", burst, i, n)
				wg.Go(func() {
					<-start
					res, body := c.command(http.MethodPost, "/todos", fmt.Sprintf(`{"title":%q}`, title))
					mu.Lock()
					defer mu.Unlock()
					switch res.StatusCode {
					case http.StatusOK:
						acked[i] = append(acked[i], title)
					case http.StatusServiceUnavailable:
						refused++
						if res.Header.Get("Retry-After") != "1" || !strings.Contains(body, `id="todo-error"`) || !strings.Contains(body, "busy") {
							t.Errorf("a refused command: Retry-After %q, body %q; want 1 and the todo-error alert saying the server is busy", res.Header.Get("Retry-After"), body)
						}
					default:
						t.Errorf("%q = %d %s; want 200 or 503", title, res.StatusCode, body)
					}
				})
			}
		}
		close(start)
		wg.Wait()
	}
	t.Logf("%d commands refused", refused)

	// Each list holds exactly its acknowledged adds, once each.
	for i, c := range clients {
		want := slices.Sorted(slices.Values(acked[i]))
		var have []string
		waitFor(t, 10*time.Second, fmt.Sprintf("session %d's %d acknowledged todos", i, len(want)), func() bool {
			have = slices.Sorted(slices.Values(c.todos()))
			return slices.Equal(have, want)
		})
	}

	// The burst is over: commands go through again.
	for i, c := range clients {
		if res, body := c.command(http.MethodPost, "/todos", `{"title":"after"}`); res.StatusCode != http.StatusOK {
			t.Errorf("session %d's command after the burst = %d %s", i, res.StatusCode, body)
		}
	}
	if strings.Contains(a.logs.String(), "status=500") {
		t.Error("a request answered 500")
	}
	if !strings.Contains(a.logs.String(), "command admission: at capacity") {
		t.Error("the log did not warn that commands were refused")
	}
}
