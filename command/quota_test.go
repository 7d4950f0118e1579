package command

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"ironstar/clientip"
)

func TestQuotaRefusesPastTheBurstAndRefillsAtTheRate(t *testing.T) {
	t.Parallel()
	q := NewQuota(QuotaOptions{Session: Rates{CommandsPerMinute: 60, Burst: 3}}, slog.New(slog.DiscardHandler))
	now := time.Now()
	for i := range 3 {
		if wait := q.take("s1", "", 10, now); wait != 0 {
			t.Fatalf("command %d of a burst of 3: wait %s", i+1, wait)
		}
	}
	wait := q.take("s1", "", 10, now)
	if wait <= 0 || wait > time.Second {
		t.Fatalf("the 4th command at once: wait %s; want (0, 1s] at one a second", wait)
	}
	// A refusal charges nothing: one second later exactly one more fits.
	later := now.Add(time.Second)
	if wait := q.take("s1", "", 10, later); wait != 0 {
		t.Fatalf("after a second: wait %s; want none", wait)
	}
	if wait := q.take("s1", "", 10, later); wait == 0 {
		t.Fatal("two commands fitted after one second at one a second")
	}
	// Another session has its own bucket.
	if wait := q.take("s2", "", 10, now); wait != 0 {
		t.Fatalf("another session: wait %s", wait)
	}
}

func TestQuotaLimitsBytes(t *testing.T) {
	t.Parallel()
	q := NewQuota(QuotaOptions{Session: Rates{BytesPerMinute: 60 << 10}}, slog.New(slog.DiscardHandler))
	now := time.Now()
	for i := range 6 { // a minute's worth at once: 6 × 10 KiB
		if wait := q.take("s", "", 10<<10, now); wait != 0 {
			t.Fatalf("body %d: wait %s", i+1, wait)
		}
	}
	wait := q.take("s", "", 10<<10, now)
	if wait < 9*time.Second || wait > 11*time.Second {
		t.Fatalf("10 KiB more at 1 KiB/s: wait %s; want about 10s", wait)
	}
	// A small body must not wait for a large one that was refused.
	if wait := q.take("s", "", 1, now.Add(time.Second)); wait != 0 {
		t.Fatalf("1 byte a second later: wait %s; want none", wait)
	}
}

func TestQuotaForgetsIdleSessions(t *testing.T) {
	t.Parallel()
	q := NewQuota(QuotaOptions{Session: Rates{CommandsPerMinute: 60, Burst: 1}}, slog.New(slog.DiscardHandler))
	now := time.Now()
	for i := range 1000 {
		q.take(strconv.Itoa(i), "", 1, now)
	}
	q.take("active", "", 1, now.Add(idleAfter))
	q.take("active", "", 1, now.Add(idleAfter+2*time.Minute))
	if n := q.sessions.tracked(); n != 1 {
		t.Fatalf("%d sessions tracked after the others were idle for %s; want 1", n, idleAfter)
	}
}

// A key in use keeps its buckets (not fresh, full ones) across every
// rotation of the generations; a key used once goes.
func TestQuotaKeepsTheBucketsOfAKeyInUse(t *testing.T) {
	t.Parallel()
	q := NewQuota(QuotaOptions{Session: Rates{CommandsPerMinute: 60, Burst: 1}}, slog.New(slog.DiscardHandler))
	now := time.Now()
	q.take("once", "", 1, now)
	q.take("busy", "", 1, now)
	first := q.sessions.cur["busy"]
	for at := time.Duration(0); at <= 4*idleAfter; at += idleAfter / 3 {
		q.take("busy", "", 1, now.Add(at))
	}
	if got := q.sessions.cur["busy"]; got != first {
		t.Error("a session sending a command every few minutes got fresh buckets")
	}
	if n := q.sessions.tracked(); n != 1 {
		t.Errorf("%d sessions tracked; want only the busy one", n)
	}
}

// Fresh sessions do not escape the client's bucket, a refusal charges
// neither bucket, and another client address has its own.
func TestQuotaLimitsAClientAddressWhateverItsSessions(t *testing.T) {
	t.Parallel()
	q := NewQuota(QuotaOptions{Session: Rates{CommandsPerMinute: 60, Burst: 2}, Client: Rates{CommandsPerMinute: 60, Burst: 5}}, slog.New(slog.DiscardHandler))
	now := time.Now()
	for i := range 5 {
		if wait := q.take(fmt.Sprint("churned-", i), "203.0.113.7", 10, now); wait != 0 {
			t.Fatalf("command %d from a fresh session within the client's burst of 5: wait %s", i+1, wait)
		}
	}
	wait := q.take("churned-5", "203.0.113.7", 10, now)
	if wait <= 0 || wait > time.Second {
		t.Fatalf("a 6th command from a 6th session of one client: wait %s; want (0, 1s]", wait)
	}
	// The refused command was not charged to its fresh session either.
	if b, ok := q.sessions.cur["churned-5"]; ok {
		if n := b.commands.TokensAt(now); n < 2 {
			t.Errorf("the refused session's bucket holds %.1f; want its full burst of 2", n)
		}
	}
	if wait := q.take("s", "198.51.100.1", 10, now); wait != 0 {
		t.Fatalf("another client address: wait %s", wait)
	}
	// The session's own limit still applies within a client's budget.
	q.take("busy", "192.0.2.1", 10, now)
	q.take("busy", "192.0.2.1", 10, now)
	if wait := q.take("busy", "192.0.2.1", 10, now); wait == 0 {
		t.Error("a session passed its burst of 2 because its client had room")
	}
}

func TestQuotaForgetsIdleClients(t *testing.T) {
	t.Parallel()
	q := NewQuota(QuotaOptions{Client: Rates{CommandsPerMinute: 60, Burst: 1}}, slog.New(slog.DiscardHandler))
	now := time.Now()
	for i := range 1000 {
		q.take("s", strconv.Itoa(i), 1, now)
	}
	q.take("s", "active", 1, now.Add(idleAfter))
	q.take("s", "active", 1, now.Add(idleAfter+2*time.Minute))
	if n := q.clients.tracked(); n != 1 {
		t.Fatalf("%d clients tracked after the others were idle for %s; want 1", n, idleAfter)
	}
	if n := q.sessions.tracked(); n != 0 {
		t.Errorf("%d sessions tracked with the session limits off; want 0", n)
	}
}

// The middleware keys the client bucket on the address clientip resolved:
// one address, a fresh cookie per command, is refused past the client's
// burst.
func TestQuotaMiddlewareRefusesAClientChurningSessions(t *testing.T) {
	t.Parallel()
	q := NewQuota(QuotaOptions{Client: Rates{CommandsPerMinute: 1, Burst: 2}}, slog.New(slog.DiscardHandler))
	ran := 0
	h := clientip.New(nil).Middleware(q.Limit("todo-error")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran++ })))
	send := func(remote string) int {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/todos", strings.NewReader(`{}`))
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", fmt.Sprint("10.9.8.", ran)) // believed from no one
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	for i := range 2 {
		if code := send("203.0.113.7:" + strconv.Itoa(4000+i)); code != 200 {
			t.Fatalf("command %d = %d", i+1, code)
		}
	}
	if code := send("203.0.113.7:4002"); code != http.StatusTooManyRequests || ran != 2 {
		t.Fatalf("3rd command of one address = %d, handler ran %d times; want 429 and twice", code, ran)
	}
	if code := send("198.51.100.1:4000"); code != 200 {
		t.Fatalf("another address = %d", code)
	}
}

func TestQuotaMiddlewareAnswers429WithRetryAfterAndSkipsTheHandler(t *testing.T) {
	t.Parallel()
	q := NewQuota(QuotaOptions{Session: Rates{CommandsPerMinute: 1, Burst: 1}}, slog.New(slog.DiscardHandler))
	ran := 0
	h := q.Limit("todo-error")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { ran++ }))
	send := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/todos", strings.NewReader(`{"title":"x"}`)))
		return rec
	}
	if rec := send(); rec.Code != 200 || ran != 1 {
		t.Fatalf("first command = %d, handler ran %d times", rec.Code, ran)
	}
	rec := send()
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusTooManyRequests || ran != 1 {
		t.Fatalf("second command = %d, handler ran %d times; want 429 and once", rec.Code, ran)
	}
	if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After = %q; want 1–60 seconds", rec.Header().Get("Retry-After"))
	}
	if !strings.Contains(string(body), `id="todo-error"`) || !strings.Contains(string(body), "nothing was saved") {
		t.Errorf("body = %q; want the feature's alert saying nothing was saved", body)
	}
}

func TestNilQuotaLimitsNothing(t *testing.T) {
	t.Parallel()
	q := NewQuota(QuotaOptions{}, slog.New(slog.DiscardHandler))
	if q != nil {
		t.Fatal("a quota with no rates is not nil")
	}
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	rec := httptest.NewRecorder()
	q.Limit("x")(next).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != 200 {
		t.Fatalf("nil quota answered %d", rec.Code)
	}
}

// tracked is how many keys k holds buckets for (0 when k is off).
func (k *keyed) tracked() int {
	if k == nil {
		return 0
	}
	return len(k.cur) + len(k.old)
}
