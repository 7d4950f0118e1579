package health

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

func serve(t *testing.T, ready func(context.Context) error, path string) *httptest.ResponseRecorder {
	t.Helper()
	r := chi.NewRouter()
	Routes(r, Deps{Logger: slog.New(slog.DiscardHandler), Checks: []Check{{Name: "nats", Check: ready}, {Name: "store", Check: func(context.Context) error { return nil }}}})
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestProbes(t *testing.T) {
	t.Parallel()
	up := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("nats: not connected (secret detail)") }
	cases := []struct {
		name     string
		ready    func(context.Context) error
		path     string
		wantCode int
		wantBody string
	}{
		{"live answers while nats is down", down, "/health/live", 200, `{"status":"ok"}`},
		{"ready when nats answers", up, "/health/ready", 200, `{"status":"ok","checks":{"nats":"up","store":"up"}}`},
		{"not ready when nats is down", down, "/health/ready", 503, `{"status":"unavailable","checks":{"nats":"down","store":"up"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := serve(t, tc.ready, tc.path)
			if rec.Code != tc.wantCode || strings.TrimSpace(rec.Body.String()) != tc.wantBody {
				t.Errorf("GET %s = %d %s, want %d %s", tc.path, rec.Code, rec.Body, tc.wantCode, tc.wantBody)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
}

func TestADegradedCheckKeepsTheInstanceReady(t *testing.T) {
	t.Parallel()
	up := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("down") }
	cases := []struct {
		name     string
		nats     func(context.Context) error
		wantCode int
		wantBody string
	}{
		{"degraded but serving", up, 200, `{"status":"degraded","checks":{"nats":"up","projection:todo_lists":"degraded"}}`},
		{"down wins over degraded", down, 503, `{"status":"unavailable","checks":{"nats":"down","projection:todo_lists":"degraded"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := chi.NewRouter()
			Routes(r, Deps{Logger: slog.New(slog.DiscardHandler), Checks: []Check{
				{Name: "nats", Check: tc.nats},
				{Name: "projection:todo_lists", Check: down, Degrades: true},
			}})
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health/ready", nil))
			if rec.Code != tc.wantCode || strings.TrimSpace(rec.Body.String()) != tc.wantBody {
				t.Errorf("GET /health/ready = %d %s, want %d %s", rec.Code, rec.Body, tc.wantCode, tc.wantBody)
			}
		})
	}
}

// TestReadinessIs503OnceShutdownBegins: the checks still pass, but a
// balancer must stop sending requests; liveness stays 200.
func TestReadinessIs503OnceShutdownBegins(t *testing.T) {
	t.Parallel()
	draining, beginShutdown := context.WithCancel(context.Background())
	r := chi.NewRouter()
	Routes(r, Deps{Logger: slog.New(slog.DiscardHandler), Draining: draining,
		Checks: []Check{{Name: "nats", Check: func(context.Context) error { return nil }}}})
	probe := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	if rec := probe("/health/ready"); rec.Code != http.StatusOK {
		t.Fatalf("before shutdown: GET /health/ready = %d %s", rec.Code, rec.Body)
	}
	beginShutdown()
	if rec := probe("/health/ready"); rec.Code != http.StatusServiceUnavailable || strings.TrimSpace(rec.Body.String()) != `{"status":"stopping"}` {
		t.Errorf("after shutdown began: GET /health/ready = %d %s, want 503 and status stopping", rec.Code, rec.Body)
	}
	if rec := probe("/health/live"); rec.Code != http.StatusOK {
		t.Errorf("after shutdown began: GET /health/live = %d, want 200", rec.Code)
	}
}
