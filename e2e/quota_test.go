package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A session past its write quota gets 429 with Retry-After and the
// feature's alert, on every feature's commands, and nothing is stored;
// other sessions are not affected.
func TestSessionPastItsWriteQuotaGets429AndStoresNothing(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{env: []string{"SESSION_WRITE_RATE=6", "SESSION_WRITE_BURST=3"}})
	c := newClient(t, a.URL)
	for i := range 3 {
		if res, body := c.command(http.MethodPost, "/todos", fmt.Sprintf(`{"title":"within %d"}`, i)); res.StatusCode != 200 {
			t.Fatalf("add %d within the burst = %d %s", i, res.StatusCode, body)
		}
	}
	for _, cmd := range []struct{ path, body, alert string }{
		{"/todos", `{"title":"over"}`, "todo-error"},
		{"/counter/mine/increment", `{}`, "counter-error"},
		{"/sortable", `{"order":["ship","test","build","design","plan"]}`, "sortable-error"},
	} {
		res, body := c.command(http.MethodPost, cmd.path, cmd.body)
		retry, err := strconv.Atoi(res.Header.Get("Retry-After"))
		if res.StatusCode != http.StatusTooManyRequests || err != nil || retry < 1 || retry > 10 {
			t.Errorf("POST %s over the quota = %d, Retry-After %q; want 429 and 1–10 s (one command per 10 s)", cmd.path, res.StatusCode, res.Header.Get("Retry-After"))
		}
		if !strings.Contains(body, `id="`+cmd.alert+`"`) || !strings.Contains(body, "nothing was saved") {
			t.Errorf("POST %s over the quota answered %q; want the %s alert saying nothing was saved", cmd.path, body, cmd.alert)
		}
	}
	other := newClient(t, a.URL)
	if res, _ := other.command(http.MethodPost, "/todos", `{"title":"someone else"}`); res.StatusCode != 200 {
		t.Fatalf("another session's add = %d; its quota is its own", res.StatusCode)
	}
	other.waitTodos("someone else")
	c.waitTodos("within 0", "within 1", "within 2")
	if _, mine := c.counters(); mine != 0 {
		t.Errorf("the refused increment was stored: counter %d", mine)
	}
	if strings.Contains(a.logs.String(), "status=500") {
		t.Error("a request answered 500")
	}
}

// With the defaults a session may send a burst of commands, and past it
// is refused: the quota is on unless configured off.
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
