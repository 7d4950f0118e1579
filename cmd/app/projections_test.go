package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"ironstar/config"
	"ironstar/features/projections"
	"ironstar/nats/projection"
)

// fakeApp answers the rebuild route as the app does, to the right token
// only: progress lines, then the outcome.
func fakeApp(t *testing.T, token string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token || r.Method != http.MethodPost || r.URL.Path != projections.RebuildPath("lists") {
			http.NotFound(w, r) // what the operator gate answers
			return
		}
		enc := json.NewEncoder(w)
		enc.Encode(projections.RebuildLine{Progress: &projection.RebuildProgress{Generation: 2, Position: 50, Total: 200, EventsPerSecond: 25}})
		enc.Encode(projections.RebuildLine{Done: true, Generation: 2})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProjectionsRebuildPrintsProgressUntilTheSwap(t *testing.T) {
	t.Parallel()
	const token = "a-token-of-twenty-four-chars"
	srv := fakeApp(t, token)
	var out, errs bytes.Buffer
	code := projectionsCommand(t.Context(), config.Config{AdminToken: token}, []string{"-url", srv.URL, "rebuild", "lists"}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d; stderr %s", code, errs.String())
	}
	for _, want := range []string{"lists: generation 2: 50/200 events (25%), 25 events/s", "lists: rebuilt; generation 2 serves"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	// Without the token the gate answers 404: the command says why.
	out.Reset()
	errs.Reset()
	code = projectionsCommand(t.Context(), config.Config{}, []string{"-url", srv.URL, "rebuild", "lists"}, &out, &errs)
	if code != 1 || !strings.Contains(errs.String(), "ADMIN_TOKEN") {
		t.Errorf("without the token: exit %d, stderr %s; want 1 naming ADMIN_TOKEN", code, errs.String())
	}
	if code := projectionsCommand(t.Context(), config.Config{}, []string{"frobnicate"}, &out, &errs); code != 2 {
		t.Errorf("an unknown command: exit %d, want 2", code)
	}
}

func TestProjectionsCommandFindsTheAppWhereItListens(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]string{"": "http://localhost:8080", "0.0.0.0": "http://localhost:8080", "::": "http://localhost:8080", "10.0.0.5": "http://10.0.0.5:8080", "::1": "http://[::1]:8080"} {
		if got := appURL(config.Config{Host: host, Port: 8080}); got != want {
			t.Errorf("HOST=%q: %s, want %s", host, got, want)
		}
	}
}
