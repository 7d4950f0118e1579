package command

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestQuotaRefusesPastTheBurstAndRefillsAtTheRate(t *testing.T) {
	t.Parallel()
	q := NewQuota(QuotaOptions{CommandsPerMinute: 60, Burst: 3}, slog.New(slog.DiscardHandler))
	now := time.Now()
	for i := range 3 {
		if wait := q.take("s1", 10, now); wait != 0 {
			t.Fatalf("command %d of a burst of 3: wait %s", i+1, wait)
		}
	}
	wait := q.take("s1", 10, now)
	if wait <= 0 || wait > time.Second {
		t.Fatalf("the 4th command at once: wait %s; want (0, 1s] at one a second", wait)
	}
	// A refusal charges nothing: one second later exactly one more fits.
	later := now.Add(time.Second)
	if wait := q.take("s1", 10, later); wait != 0 {
		t.Fatalf("after a second: wait %s; want none", wait)
	}
	if wait := q.take("s1", 10, later); wait == 0 {
		t.Fatal("two commands fitted after one second at one a second")
	}
	// Another session has its own bucket.
	if wait := q.take("s2", 10, now); wait != 0 {
		t.Fatalf("another session: wait %s", wait)
	}
}

func TestQuotaLimitsBytes(t *testing.T) {
	t.Parallel()
	q := NewQuota(QuotaOptions{BytesPerMinute: 60 << 10}, slog.New(slog.DiscardHandler))
	now := time.Now()
	for i := range 6 { // a minute's worth at once: 6 × 10 KiB
		if wait := q.take("s", 10<<10, now); wait != 0 {
			t.Fatalf("body %d: wait %s", i+1, wait)
		}
	}
	wait := q.take("s", 10<<10, now)
	if wait < 9*time.Second || wait > 11*time.Second {
		t.Fatalf("10 KiB more at 1 KiB/s: wait %s; want about 10s", wait)
	}
	// A small body must not wait for a large one that was refused.
	if wait := q.take("s", 1, now.Add(time.Second)); wait != 0 {
		t.Fatalf("1 byte a second later: wait %s; want none", wait)
	}
}

func TestQuotaForgetsIdleSessions(t *testing.T) {
	t.Parallel()
	q := NewQuota(QuotaOptions{CommandsPerMinute: 60, Burst: 1}, slog.New(slog.DiscardHandler))
	now := time.Now()
	for i := range 1000 {
		q.take(strconv.Itoa(i), 1, now)
	}
	q.take("active", 1, now.Add(idleAfter))
	q.take("active", 1, now.Add(idleAfter+2*time.Minute))
	if n := len(q.sessions); n != 1 {
		t.Fatalf("%d sessions tracked after the others were idle for %s; want 1", n, idleAfter)
	}
}

func TestQuotaMiddlewareAnswers429WithRetryAfterAndSkipsTheHandler(t *testing.T) {
	t.Parallel()
	q := NewQuota(QuotaOptions{CommandsPerMinute: 1, Burst: 1}, slog.New(slog.DiscardHandler))
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
