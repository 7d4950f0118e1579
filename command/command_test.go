package command

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"ironstar/es"
	"ironstar/logging"
	"ironstar/nats/natstest"
	"ironstar/session"
)

// Failures that retrying soon will not fix get their status, a clear
// message, never the store's error, and no Retry-After.
func TestFailAnswersWhatNoRetryFixesWithoutRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		code int
		want string
	}{
		{"a full store", fmt.Errorf("eventstore: publish todo/l1: %w: maximum bytes exceeded", es.ErrStoreFull), http.StatusInsufficientStorage, "store is full"},
		{"an event that does not decode", fmt.Errorf("load todo/l1: %w: todo/l1 at sequence 7: %w: maximum bytes exceeded", es.ErrUndecodable, es.ErrUnknownEventType), http.StatusServiceUnavailable, "cannot be changed right now"},
	} {
		rec := httptest.NewRecorder()
		Fail(rec, httptest.NewRequest(http.MethodPost, "/todos", nil), slog.New(slog.DiscardHandler), "todo-error", tc.err, func(error) (Problem, bool) { return Problem{}, false })
		if rec.Code != tc.code {
			t.Errorf("%s: code = %d; want %d", tc.name, rec.Code, tc.code)
		}
		if body := rec.Body.String(); !strings.Contains(body, tc.want) || !strings.Contains(body, `id="todo-error"`) || strings.Contains(body, "maximum bytes") {
			t.Errorf("%s: body = %q; want the alert saying %q, not the store's error", tc.name, body, tc.want)
		}
		if ra := rec.Header().Get("Retry-After"); ra != "" {
			t.Errorf("%s: Retry-After = %q, which retrying will not honour", tc.name, ra)
		}
	}
}

func TestACommandWhileTheSessionsBucketIsDownGetsTheAlertWith503AndRetryAfter(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	logger := slog.New(slog.DiscardHandler)
	sessions, err := session.NewStore(t.Context(), conn.JS, session.Options{TTL: time.Hour}, logger)
	if err != nil {
		t.Fatal(err)
	}
	reached := false
	h := sessions.Guard(refusal(logger, "todo-error"))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	page := httptest.NewRecorder()
	h.ServeHTTP(page, httptest.NewRequest(http.MethodGet, "/", nil))
	cookies := page.Result().Cookies()
	if len(cookies) == 0 {
		t.Fatal("the page got no session cookie")
	}
	if err := conn.JS.DeleteStream(t.Context(), "KV_"+session.Bucket); err != nil {
		t.Fatal(err)
	}
	reached = false

	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/todos", nil)
	r.AddCookie(cookies[0])
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("code = %d, Retry-After %q; want 503 with Retry-After 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	if body := rec.Body.String(); !strings.Contains(body, `id="todo-error"`) || !strings.Contains(body, "try again") {
		t.Errorf("body = %q; want the feature's alert asking to try again", body)
	}
	if reached {
		t.Error("the command ran without its session")
	}
}

// TestReadSignalsWhereDatastarSendsThem: GET and DELETE carry signals in
// the datastar query parameter (Datastar 1.0), other methods in the body.
func TestReadSignalsWhereDatastarSendsThem(t *testing.T) {
	t.Parallel()
	type signals struct{ Title string }
	for _, method := range []string{http.MethodGet, http.MethodDelete, http.MethodPost, http.MethodPut} {
		r := httptest.NewRequest(method, "/x?datastar="+url.QueryEscape(`{"title":"from the query"}`), strings.NewReader(`{"title":"from the body"}`))
		want := "from the body"
		if method == http.MethodGet || method == http.MethodDelete {
			want = "from the query"
		}
		if s, err := ReadSignals[signals](r); err != nil || s.Title != want {
			t.Errorf("%s: %+v, %v; want %q", method, s, err, want)
		}
	}
	r := httptest.NewRequest(http.MethodDelete, "/x?datastar=%7Bnot", nil)
	if _, err := ReadSignals[signals](r); !errors.Is(err, ErrMalformed) {
		t.Errorf("DELETE with malformed signals: %v, want ErrMalformed", err)
	}
}

// TestMetadataCorrelatesTheRequestID: the ID the router gave the request
// (see router's requestID) is the events' correlation ID.
func TestMetadataCorrelatesTheRequestID(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/todo", nil)
	r = r.WithContext(logging.WithRequestID(r.Context(), "req-7"))
	if got := Metadata(r).CorrelationID; got != "req-7" {
		t.Errorf("CorrelationID = %q, want req-7", got)
	}
}

// A page whose data the store does not give is a moment's trouble: 503
// with Retry-After, and the answer names the data, not the store's error.
func TestUnreadableAnswers503WithRetryAfter(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	Unreadable(rec, httptest.NewRequest(http.MethodGet, "/todos", nil), slog.New(slog.DiscardHandler), "the list", fmt.Errorf("read: %w: nats: timeout", es.ErrUnavailable))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("code %d, Retry-After %q; want 503 and 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	if body := rec.Body.String(); !strings.Contains(body, "the list cannot be read right now") || strings.Contains(body, "nats") {
		t.Errorf("body %q; want it to name the list, not the store's error", body)
	}
}
