package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
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
