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
