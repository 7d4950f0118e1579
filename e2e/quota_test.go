package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"ironstar/nats/eventstore"
)

// checkSessionWriteQuota spends a session's burst of three commands on
// within, then sends over: 429 with Retry-After and the feature's alert
// saying nothing was saved, and the event store holds no event more than
// before. Another session's over lands: its quota is its own.
func checkSessionWriteQuota(t *testing.T, within, over guardedCommand) {
	t.Helper()
	port := freePort(t)
	a := startApp(t, appOptions{env: []string{"NATS_PORT=" + port, "SESSION_WRITE_RATE=6", "SESSION_WRITE_BURST=3"}})
	js := embeddedJetStream(t, port)
	events := func() uint64 {
		t.Helper()
		s, err := js.Stream(t.Context(), eventstore.StreamName)
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo().State.Msgs
	}
	c := newClient(t, a.URL)
	for i := range 3 {
		if res, body := c.command(within.method, within.path, within.body); res.StatusCode != http.StatusOK {
			t.Fatalf("%s %s %d within the burst = %d %s", within.method, within.path, i+1, res.StatusCode, body)
		}
	}
	stored := events()
	res, body := c.command(over.method, over.path, over.body)
	retry, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if res.StatusCode != http.StatusTooManyRequests || err != nil || retry < 1 || retry > 10 {
		t.Errorf("%s %s over the quota = %d, Retry-After %q; want 429 and 1–10 s (one command per 10 s)", over.method, over.path, res.StatusCode, res.Header.Get("Retry-After"))
	}
	if !strings.Contains(body, `id="`+over.alert+`"`) || !strings.Contains(body, "nothing was saved") {
		t.Errorf("%s %s over the quota answered %q; want the %s alert saying nothing was saved", over.method, over.path, body, over.alert)
	}
	if got := events(); got != stored {
		t.Errorf("the event store holds %d events after the refusal, %d before", got, stored)
	}
	if res, body := newClient(t, a.URL).command(over.method, over.path, over.body); res.StatusCode != http.StatusOK {
		t.Errorf("another session's %s %s = %d %s; its quota is its own", over.method, over.path, res.StatusCode, body)
	}
	if strings.Contains(a.logs.String(), "status=500") {
		t.Error("a request answered 500")
	}
}

// TestSessionWriteQuotaHoldsTodoCommands: see checkSessionWriteQuota.
//
//ironstar:needs todo
func TestSessionWriteQuotaHoldsTodoCommands(t *testing.T) {
	t.Parallel()
	checkSessionWriteQuota(t,
		guardedCommand{"POST", "/todos", `{"title":"within"}`, "todo-error"},
		guardedCommand{"POST", "/todos", `{"title":"over"}`, "todo-error"},
	)
}

// TestSessionWriteQuotaHoldsCounterCommands: see checkSessionWriteQuota.
//
//ironstar:needs counter
func TestSessionWriteQuotaHoldsCounterCommands(t *testing.T) {
	t.Parallel()
	increment := guardedCommand{"POST", "/counter/mine/increment", `{}`, "counter-error"}
	checkSessionWriteQuota(t, increment, increment)
}

// TestSessionWriteQuotaHoldsSortableCommands: see checkSessionWriteQuota.
// The refused order differs from the stored one, so it would be stored.
//
//ironstar:needs sortable
func TestSessionWriteQuotaHoldsSortableCommands(t *testing.T) {
	t.Parallel()
	checkSessionWriteQuota(t,
		guardedCommand{"POST", "/sortable", `{"order":["ship","test","build","design","plan"]}`, "sortable-error"},
		guardedCommand{"POST", "/sortable", `{"order":["plan","design","build","test","ship"]}`, "sortable-error"},
	)
}

// With the defaults a session may send a burst of commands, and past it
// is refused: the quota is on unless configured off.
//
//ironstar:needs counter
func TestSessionWriteQuotaIsOnByDefault(t *testing.T) {
	t.Parallel()
	// Empty values restore the defaults launchApp turns off.
	a := startApp(t, appOptions{env: []string{"SESSION_WRITE_RATE=", "SESSION_WRITE_BYTES="}})
	c := newClient(t, a.URL)
	for i := 1; ; i++ {
		res, _ := c.command(http.MethodPost, "/counter/mine/increment", `{}`)
		if res.StatusCode == http.StatusTooManyRequests {
			if i <= 60 || res.Header.Get("Retry-After") == "" {
				t.Fatalf("command %d refused (Retry-After %q); want the default burst of 60 to pass first", i, res.Header.Get("Retry-After"))
			}
			t.Logf("refused at command %d", i)
			return
		}
		if res.StatusCode != 200 || i > 200 {
			t.Fatalf("command %d = %d; want 200 until the quota refuses (well before 200 at 2 a second)", i, res.StatusCode)
		}
	}
}

// At EVENTS_MAX_BYTES commands are refused with 507 and a clear message,
// the events already stored stay, and the log warned well before.
//
//ironstar:needs todo
func TestEventsCapRefusesNewCommandsAndKeepsOldOnes(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{env: []string{"EVENTS_MAX_BYTES=1MiB"}})
	first := newClient(t, a.URL)
	title := strings.Repeat("x", 490)
	c, kept := first, 0
	var full string
	for i := 0; full == ""; i++ {
		if i > 5000 {
			t.Fatal("5,000 adds of 500 bytes fitted in 1 MiB")
		}
		res, body := c.command(http.MethodPost, "/todos", fmt.Sprintf(`{"title":"%04d%s"}`, i, title))
		switch {
		case res.StatusCode == 200:
			if c == first {
				kept++
			}
		case res.StatusCode == http.StatusUnprocessableEntity:
			c = newClient(t, a.URL) // this list is at its own bound: another list
		case res.StatusCode == http.StatusInsufficientStorage:
			full = body
		default:
			t.Fatalf("add %d = %d %q; want 200 until the cap, then 507", i, res.StatusCode, body)
		}
	}
	if !strings.Contains(full, "store is full") || !strings.Contains(full, `id="todo-error"`) {
		t.Errorf("the refusal at the cap = %q; want the alert saying the store is full", full)
	}
	if n := len(first.todos()); n != kept {
		t.Errorf("the first list shows %d todos after the cap; %d were stored", n, kept)
	}
	waitFor(t, 30*time.Second, "the log to warn and then say the store is full", func() bool {
		logs := a.logs.String()
		warn, err := strings.Index(logs, "event store filling up"), strings.Index(logs, "event store full")
		return warn >= 0 && err > warn
	})
	if strings.Contains(a.logs.String(), "status=500") {
		t.Error("a request answered 500")
	}
}
