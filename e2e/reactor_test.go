//ironstar:needs todo

package e2e

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/internal/poll"
)

// TestReactorRecordsEachListCompletionOnceThoughKilledMidReaction
// completes the last open todo of many lists at once, kills the app
// (SIGKILL) as soon as the todo_list_completed reactor has recorded the
// first completion, restarts it on the same data, and checks the stream:
// every list has exactly one todo.list-completed event: effects cut off
// by the kill are redelivered after the restart, and those done and
// acknowledged are not done again. It does not show that the idempotency
// key made a redelivery harmless: the decider records a completion once
// anyway (docs/17-reactors.md); nats/reactor's tests check the key.
func TestReactorRecordsEachListCompletionOnceThoughKilledMidReaction(t *testing.T) {
	t.Parallel()
	dataDir, natsPort := t.TempDir(), freePort(t)
	opts := appOptions{dataDir: dataDir, env: []string{"NATS_PORT=" + natsPort}}
	a := startApp(t, opts)

	// Each list: two todos, the first completed.
	const lists = 60
	clients := newClients(t, a.URL, lists)
	last := make([]string, lists)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			for _, title := range []string{"first", "last"} {
				if res, _ := c.command(http.MethodPost, "/todos", `{"title":"`+title+`"}`); res.StatusCode != http.StatusOK {
					t.Errorf("list %d: add = %d", i, res.StatusCode)
				}
			}
			var ids []string
			if !poll.Within(10*time.Second, func() bool {
				_, page := c.do(http.MethodGet, "/", "", nil)
				ids = ids[:0]
				for _, m := range editID.FindAllStringSubmatch(page, -1) {
					ids = append(ids, m[1])
				}
				return len(ids) == 2
			}) {
				t.Errorf("list %d: the page shows todos %v, want two", i, ids)
				return
			}
			if res, _ := c.command(http.MethodPost, "/todos/"+ids[0]+"/complete", `{}`); res.StatusCode != http.StatusOK {
				t.Errorf("list %d: complete = %d", i, res.StatusCode)
			}
			last[i] = ids[1]
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// Complete every last todo at once; kill the app once the reactor has
	// recorded a completion. Requests cut off by the kill fail here, and
	// are sent again after the restart.
	js := embeddedJetStream(t, natsPort)
	firstCompletion, recorded := watchCompletions(t, js)
	for i, c := range clients {
		go func() {
			req, _ := http.NewRequest(http.MethodPost, a.URL+"/todos/"+last[i]+"/complete", strings.NewReader(`{}`))
			req.Header.Set("Datastar-Request", "true")
			req.Header.Set("Content-Type", "application/json")
			if res, err := c.http.Do(req); err == nil {
				res.Body.Close()
			}
		}()
	}
	select {
	case <-firstCompletion:
	case <-time.After(20 * time.Second):
		t.Fatal("the reactor recorded no completion within 20s")
	}
	a.kill(t)
	atKill := recorded()
	t.Logf("killed with %d of %d completions recorded", atKill, lists)
	if atKill >= lists {
		t.Errorf("every completion was recorded before the kill: the kill came too late to test anything")
	}

	b := startApp(t, opts)
	for i, c := range clients {
		c.base = b.URL // same host: the jar sends the same session cookie
		if res, _ := c.command(http.MethodPost, "/todos/"+last[i]+"/complete", `{}`); res.StatusCode != http.StatusOK {
			t.Fatalf("list %d: complete after the restart = %d", i, res.StatusCode)
		}
	}
	js = embeddedJetStream(t, natsPort)
	// Done: the reactor has handled (and acknowledged) every event,
	// including those whose first delivery died with the app.
	waitFor(t, 60*time.Second, "the reactor to handle every event", func() bool {
		info, err := js.Consumer(t.Context(), "EVENTS", "react_todo_list_completed")
		return err == nil && info.CachedInfo().NumPending == 0 && info.CachedInfo().NumAckPending == 0 &&
			len(listCompletions(t, js)) == lists
	})
	for list, n := range listCompletions(t, js) {
		if n != 1 {
			t.Errorf("list %s: %d todo.list-completed events, want 1", list, n)
		}
	}
	waitFor(t, 10*time.Second, "the page to say the list is all done", func() bool {
		_, page := clients[0].do(http.MethodGet, "/", "", nil)
		return strings.Contains(page, `id="todo-all-done"`)
	})
}

// watchCompletions watches the todo.list-completed events stored from now
// on: the channel is closed at the first, recorded counts those seen.
func watchCompletions(t *testing.T, js jetstream.JetStream) (first <-chan struct{}, recorded func() int) {
	t.Helper()
	stream, err := js.Stream(t.Context(), "EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"events.todo.>"}, HeadersOnly: true, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan struct{})
	var count atomic.Int64
	consuming, err := cons.Consume(func(m jetstream.Msg) {
		if m.Headers().Get("Ironstar-Type") == "todo.list-completed" && count.Add(1) == 1 {
			close(seen)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(consuming.Stop)
	return seen, func() int { return int(count.Load()) }
}

// listCompletions counts the todo.list-completed events of each list in
// the stream.
func listCompletions(t *testing.T, js jetstream.JetStream) map[string]int {
	t.Helper()
	stream, err := js.Stream(t.Context(), "EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"events.todo.>"}, HeadersOnly: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for {
		batch, err := cons.FetchNoWait(500)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		var pending uint64
		for m := range batch.Messages() {
			n++
			if m.Headers().Get("Ironstar-Type") == "todo.list-completed" {
				counts[m.Subject()]++
			}
			if meta, err := m.Metadata(); err == nil {
				pending = meta.NumPending
			}
		}
		if n == 0 || pending == 0 {
			return counts
		}
	}
}
