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

func TestProjectionsRedriveAsksTheReactorsRouteAndSaysWhyItFailed(t *testing.T) {
	t.Parallel()
	const token = "a-token-of-twenty-four-chars"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "Bearer "+token || r.Method != http.MethodPost:
			http.NotFound(w, r)
		case r.URL.Path == projections.RedrivePath("hook", 7):
			json.NewEncoder(w).Encode(projections.RedriveResult{Reactor: "hook", Seq: 7})
		case r.URL.Path == projections.RedrivePath("hook", 8):
			http.Error(w, "Event 8 stays parked; its effect failed again: webhook answered 422", http.StatusUnprocessableEntity)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	cfg := config.Config{AdminToken: token}

	var out, errs bytes.Buffer
	if code := projectionsCommand(t.Context(), cfg, []string{"-url", srv.URL, "redrive", "hook", "7"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d; stderr %s", code, errs.String())
	}
	if want := "hook: the effect of event 7 ran; it is no longer parked"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	errs.Reset()
	if code := projectionsCommand(t.Context(), cfg, []string{"-url", srv.URL, "redrive", "hook", "8"}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "422") || !strings.Contains(errs.String(), "webhook answered 422") {
		t.Errorf("a failed redrive: exit %d, stderr %s; want 1 with the app's reason", code, errs.String())
	}
	errs.Reset()
	if code := projectionsCommand(t.Context(), cfg, []string{"-url", srv.URL, "redrive", "hook", "x"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "redrive REACTOR SEQ") {
		t.Errorf("a sequence not a number: exit %d, stderr %s; want 2 with the usage", code, errs.String())
	}
}

func TestProjectionsCleanupSaysWhatItRemovedBeforeAnError(t *testing.T) {
	t.Parallel()
	const token = "a-token-of-twenty-four-chars"
	removed := []projection.Leftover{{Kind: "bucket", Name: "proj_old_1", Reason: "a projection the app no longer has"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token || r.Method != http.MethodPost || r.URL.Path != projections.CleanupPath {
			http.NotFound(w, r)
			return
		}
		// As the app answers a cleanup that NATS stopped halfway.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(projections.CleanupResult{Removed: removed, Error: "nats: timeout"})
	}))
	t.Cleanup(srv.Close)
	var out, errs bytes.Buffer
	code := projectionsCommand(t.Context(), config.Config{AdminToken: token}, []string{"-url", srv.URL, "cleanup"}, &out, &errs)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if want := "removed bucket proj_old_1 (a projection the app no longer has)"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	if want := "stopped after removing 1: nats: timeout"; !strings.Contains(errs.String(), want) || strings.Contains(errs.String(), "{") {
		t.Errorf("stderr %q, want %q and no raw JSON", errs.String(), want)
	}
}
