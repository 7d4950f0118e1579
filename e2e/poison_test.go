//ironstar:needs todo

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestOneListTooLargeToStoreStopsNobodyElse runs issue 11's reproduction:
// one session adds 400 todos of 495 "<" (each stored JSON-escaped, six
// bytes a character: 1.2 MB in all, more than a KV value may hold). The
// list's byte bound refuses the adds that would pass it with a 422, the
// list keeps what it accepted, and another session's todo still reaches
// its page. (That a read model too large to store cannot stop the
// projection either, bound or no bound, is nats/projection's
// TestAPoisonEventIsParkedAndEveryOtherKeyGoesOn.)
func TestOneListTooLargeToStoreStopsNobodyElse(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	attacker, bystander := newClient(t, a.URL), newClient(t, a.URL)

	title := strings.Repeat("<", 495)
	accepted, refused := 0, 0
	for i := 1; i <= 400; i++ {
		body, _ := json.Marshal(map[string]string{"title": fmt.Sprint(i) + title})
		res, answer := attacker.command(http.MethodPost, "/todos", string(body))
		switch {
		case res.StatusCode == http.StatusOK && refused == 0:
			accepted++
		case res.StatusCode == http.StatusUnprocessableEntity && strings.Contains(answer, "as much text as one list can"):
			refused++
		default:
			t.Fatalf("add %d (after %d accepted, %d refused) = %d %q; want 200 until the bound, then 422", i, accepted, refused, res.StatusCode, answer)
		}
	}
	t.Logf("%d adds accepted, %d refused with 422", accepted, refused)
	if accepted < 50 || refused == 0 {
		t.Errorf("%d accepted, %d refused: want the list to take dozens, then refuse", accepted, refused)
	}

	if res, _ := bystander.command(http.MethodPost, "/todos", `{"title":"bystander"}`); res.StatusCode != http.StatusOK {
		t.Fatalf("the bystander's add = %d", res.StatusCode)
	}
	waitFor(t, 10*time.Second, "the bystander's todo on the bystander's page", func() bool {
		_, page := bystander.do(http.MethodGet, "/", "", nil)
		return strings.Contains(page, "bystander</label>")
	})
	// The attacker's list holds what was accepted, and the instance is
	// ready with no projection degraded: nothing had to be parked.
	waitFor(t, 10*time.Second, fmt.Sprintf("the attacker's %d todos", accepted), func() bool {
		return len(attacker.todos()) == accepted
	})
	res, body := get(t, a.URL+"/health/ready")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"ok"`) || !strings.Contains(body, `"projection:todo_lists":"up"`) {
		t.Errorf("GET /health/ready = %d %s, want ok with todo_lists up", res.StatusCode, body)
	}
	if logs := a.logs.String(); strings.Contains(logs, "status=500") || strings.Contains(logs, "maximum payload") || strings.Contains(logs, "parked") {
		t.Errorf("the app answered 500, failed a write or parked an event:\n%s", a.failureLogs())
	}
}

// TestAnEventTheProjectionCannotApplyIsParked writes, past the app, a todo
// event whose data does not decode (as a bug or an older release might) on
// the real binary: the todo_lists projection parks it, everybody's later
// todos still reach their pages, readiness says the projection is degraded
// but stays 200, and a later good event for the same list heals it.
func TestAnEventTheProjectionCannotApplyIsParked(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	a := startApp(t, appOptions{env: []string{"NATS_PORT=" + port}})
	js := embeddedJetStream(t, port)
	publish := func(data string) uint64 {
		t.Helper()
		msg := nats.NewMsg("events.todo.poisoned")
		msg.Header.Set("Ironstar-Type", "todo.added")
		msg.Header.Set("Ironstar-Version", "1")
		msg.Data = []byte(data)
		ack, err := js.PublishMsg(t.Context(), msg)
		if err != nil {
			t.Fatal(err)
		}
		return ack.Sequence
	}
	ready := func() (int, string) {
		res, body := get(t, a.URL+"/health/ready")
		return res.StatusCode, body
	}

	seq := publish(`{"id":`)
	bystander := newClient(t, a.URL)
	if res, _ := bystander.command(http.MethodPost, "/todos", `{"title":"bystander"}`); res.StatusCode != http.StatusOK {
		t.Fatalf("the bystander's add = %d", res.StatusCode)
	}
	bystander.waitTodos("bystander")
	waitFor(t, 10*time.Second, "readiness to report todo_lists degraded", func() bool {
		code, body := ready()
		return code == http.StatusOK && strings.Contains(body, `"status":"degraded"`) && strings.Contains(body, `"projection:todo_lists":"degraded"`)
	})
	logs := a.logs.String()
	if n := strings.Count(logs, "parked an event"); n != 1 || !strings.Contains(logs, fmt.Sprintf("seq=%d key=poisoned", seq)) {
		t.Errorf("the parked event was logged %d times, want once, with its sequence %d and key:\n%s", n, seq, a.failureLogs())
	}

	publish(`{"id":"fine","text":"a later event"}`)
	waitFor(t, 10*time.Second, "readiness to be ok again", func() bool {
		code, body := ready()
		return code == http.StatusOK && strings.Contains(body, `"status":"ok"`)
	})
}

// TestAListTooLargeToStoreIsParked writes issue 11's 400 adds of 495 "<"
// past the app (so past the domain's byte bound, as lists stored before it
// were): the add that would take the list's read model past what NATS
// stores is parked, and the adds after it too, while a bystander's todo
// still reaches its page; a later delete that makes the list fit heals it.
func TestAListTooLargeToStoreIsParked(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	a := startApp(t, appOptions{env: []string{"NATS_PORT=" + port}})
	js := embeddedJetStream(t, port)
	var futures []jetstream.PubAckFuture
	publish := func(typ string, data any) {
		t.Helper()
		msg := nats.NewMsg("events.todo.huge")
		msg.Header.Set("Ironstar-Type", typ)
		msg.Header.Set("Ironstar-Version", "1")
		msg.Data, _ = json.Marshal(data)
		f, err := js.PublishMsgAsync(msg)
		if err != nil {
			t.Fatal(err)
		}
		futures = append(futures, f)
	}
	title := strings.Repeat("<", 495)
	for i := 1; i <= 400; i++ {
		publish("todo.added", map[string]string{"id": fmt.Sprint("i", i), "text": fmt.Sprint(i) + title})
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			t.Fatal(err)
		}
	}

	bystander := newClient(t, a.URL)
	if res, _ := bystander.command(http.MethodPost, "/todos", `{"title":"bystander"}`); res.StatusCode != http.StatusOK {
		t.Fatalf("the bystander's add = %d", res.StatusCode)
	}
	bystander.waitTodos("bystander")
	waitFor(t, 10*time.Second, "readiness to report todo_lists degraded", func() bool {
		res, body := get(t, a.URL+"/health/ready")
		return res.StatusCode == http.StatusOK && strings.Contains(body, `"projection:todo_lists":"degraded"`)
	})
	if logs := a.logs.String(); !strings.Contains(logs, "value too large to store") || strings.Contains(logs, "maximum payload") {
		t.Errorf("want the adds parked as too large, and no write failing:\n%s", a.failureLogs())
	}

	// Deleting todos the read model holds makes a later event fit again.
	for i := 1; i <= 10; i++ {
		publish("todo.deleted", map[string]string{"id": fmt.Sprint("i", i)})
	}
	waitFor(t, 10*time.Second, "readiness to be ok again", func() bool {
		res, body := get(t, a.URL+"/health/ready")
		return res.StatusCode == http.StatusOK && strings.Contains(body, `"status":"ok"`)
	})
}

// TestAnEventOfAListThatDoesNotDecodeStopsOnlyThatList writes, past the
// app, into two sessions' own lists: an event of a type no release
// registers (as an older release's retired type would be), and one without
// the version header the app writes. On the real binary the next command
// on each list is refused with a 503 alert saying it cannot be changed
// now, stores nothing, and is logged at error with the list (and the
// event's sequence); the app does not crash, skips nothing, and another
// session's list goes on.
func TestAnEventOfAListThatDoesNotDecodeStopsOnlyThatList(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	a := startApp(t, appOptions{env: []string{"NATS_PORT=" + port}})
	js := embeddedJetStream(t, port)
	events, err := js.Stream(t.Context(), "EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		headers map[string]string
		logged  string // in the error line, after the list's name
	}{
		{"a retired event type", map[string]string{"Ironstar-Type": "todo.archived", "Ironstar-Version": "1"}, " seq=%d type=todo.archived"},
		{"no version header", map[string]string{"Ironstar-Type": "todo.added"}, ` err="eventstore: message %d: es: a stored event does not decode: bad Ironstar-Version`},
	} {
		c := newClient(t, a.URL)
		if res, _ := c.command(http.MethodPost, "/todos", `{"title":"first"}`); res.StatusCode != http.StatusOK {
			t.Fatalf("%s: the first add = %d", tc.name, res.StatusCode)
		}
		// The session's first event names its list.
		first, err := events.GetLastMsgForSubject(t.Context(), "events.todo.>")
		if err != nil {
			t.Fatal(err)
		}
		list := strings.TrimPrefix(first.Subject, "events.todo.")
		msg := nats.NewMsg(first.Subject)
		for k, v := range tc.headers {
			msg.Header.Set(k, v)
		}
		msg.Data = []byte(`{"id":"x","text":"x"}`)
		ack, err := js.PublishMsg(t.Context(), msg)
		if err != nil {
			t.Fatal(err)
		}

		for range 2 { // the same answer every time: nothing is skipped or cached
			res, body := c.command(http.MethodPost, "/todos", `{"title":"second"}`)
			if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `id="todo-error"`) || !strings.Contains(body, "cannot be changed right now") {
				t.Fatalf("%s: an add to the list = %d %q; want 503 with the list's alert saying it cannot be changed now", tc.name, res.StatusCode, body)
			}
		}
		if last, err := events.GetLastMsgForSubject(t.Context(), first.Subject); err != nil || last.Sequence != ack.Sequence {
			t.Errorf("%s: the list's last event is %v (%v), want the undecodable one at %d: nothing stored", tc.name, last, err, ack.Sequence)
		}
		want := fmt.Sprintf("level=ERROR msg=\"es: an event of the aggregate does not decode: no command on it can run\" aggregate=todo/%s"+tc.logged, list, ack.Sequence)
		if logs := a.logs.String(); !strings.Contains(logs, want) || strings.Contains(logs, "status=500") || strings.Contains(logs, "panic") {
			t.Errorf("%s: want the event logged at error (%s), no 500, no panic:\n%s", tc.name, want, a.failureLogs())
		}
	}

	bystander := newClient(t, a.URL)
	if res, _ := bystander.command(http.MethodPost, "/todos", `{"title":"bystander"}`); res.StatusCode != http.StatusOK {
		t.Fatalf("the bystander's add = %d", res.StatusCode)
	}
	bystander.waitTodos("bystander")
}
