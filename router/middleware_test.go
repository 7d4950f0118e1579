package router

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ironstar/logging"
)

func TestRecoverPanicsAnswers500AndLogs(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	h := logRequests(logger, false, slowRequest)(recoverPanics(logger)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/broken", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}
	for _, want := range []string{"msg=panic", "panic=boom", "msg=request", "path=/broken", "status=500"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}

func TestRecoverPanicsLetsAbortThrough(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	h := recoverPanics(logger)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	defer func() {
		if err, _ := recover().(error); !errors.Is(err, http.ErrAbortHandler) {
			t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked", err)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
}

// TestLogRequestsLogsWhatNeedsAttention: with all off, a request answered
// 2xx is not logged, a 4xx and a slow one are, a stream is never slow; with
// all on, every request is logged. (Slow is 0 where a request is to be slow.)
func TestLogRequestsLogsWhatNeedsAttention(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		all    bool
		status int
		slow   time.Duration
		stream bool
		logged bool
	}{
		{"ok", false, http.StatusOK, time.Hour, false, false},
		{"ok, all", true, http.StatusOK, time.Hour, false, true},
		{"refused", false, http.StatusTooManyRequests, time.Hour, false, true},
		{"failed", false, http.StatusServiceUnavailable, time.Hour, false, true},
		{"slow", false, http.StatusOK, 0, false, true},
		{"a stream", false, http.StatusOK, 0, true, false},
	}
	for _, tc := range cases {
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		h := logRequests(logger, tc.all, tc.slow)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.stream {
				w.Header().Set("Content-Type", "text/event-stream")
			}
			w.WriteHeader(tc.status)
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
		if got := strings.Contains(logs.String(), "msg=request"); got != tc.logged {
			t.Errorf("%s: logged %t, want %t:\n%s", tc.name, got, tc.logged, logs.String())
		}
	}
}

// TestRequestIDReachesTheHandlersLogLines: a line the handler logs with the
// request's context carries the same ID as the access-log line and the
// response header.
func TestRequestIDReachesTheHandlersLogLines(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := logging.New(&logs, logging.Text, slog.LevelInfo)
	h := requestID(logRequests(logger, true, slowRequest)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "handler says")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/todo", nil))

	id := rec.Header().Get(requestIDHeader)
	if !plainRequestID(id) {
		t.Fatalf("X-Request-Id = %q, want a new plain ID", id)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want the handler's and the request's:\n%s", len(lines), logs.String())
	}
	for _, line := range lines {
		if !strings.Contains(line, "request_id="+id) {
			t.Errorf("line lacks request_id=%s: %s", id, line)
		}
	}
}

func TestRequestIDKeepsOnlyAPlainInboundID(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		inbound string
		kept    bool
	}{
		{"a proxy's uuid", "0f8fad5b-d9cb-469f-a165-70867728950e", true},
		{"plain with dots and colons", "edge-1:req.42_a", true},
		{"none", "", false},
		{"too long", strings.Repeat("a", maxRequestIDLen+1), false},
		{"with a space", "req 1", false},
		{"with a newline", "req\nlevel=ERROR", false},
		{"with a quote", `req"1`, false},
		{"not ascii", "réq", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var seen string
			h := requestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = logging.RequestID(r.Context())
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set(requestIDHeader, tc.inbound)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if kept := seen == tc.inbound; kept != tc.kept {
				t.Errorf("inbound %q: the context has %q (kept %v, want %v)", tc.inbound, seen, kept, tc.kept)
			}
			if !plainRequestID(seen) || rec.Header().Get(requestIDHeader) != seen {
				t.Errorf("context ID %q, response X-Request-Id %q: want the same plain ID", seen, rec.Header().Get(requestIDHeader))
			}
		})
	}
}
