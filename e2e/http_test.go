package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return res, string(body)
}

var scriptSrc = regexp.MustCompile(`<script type="module" src="(/static/dist/datastar\.[0-9a-f]{16}\.js)"`)

func TestPageLinksTheHashedDatastarBundle(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})

	res, page := get(t, a.URL+"/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d", res.StatusCode)
	}
	m := scriptSrc.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no content-hashed Datastar script in the page:\n%s", page)
	}
	if offsite := regexp.MustCompile(`(?:src|href|action)="(?:https?:)?//`).FindString(page); offsite != "" {
		t.Errorf("the page links another host (%s):\n%s", offsite, page)
	}

	res, bundle := get(t, a.URL+m[1])
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", m[1], res.StatusCode)
	}
	// The client cmd/build pins (and go tool task datastar:update moves).
	pin, err := os.ReadFile("../cmd/build/datastar.go")
	if err != nil {
		t.Fatal(err)
	}
	version := regexp.MustCompile(`datastarVersion\s*=\s*"([^"]+)"`).FindSubmatch(pin)
	if version == nil || !strings.HasPrefix(bundle, "// Datastar "+string(version[1])+"\n") {
		t.Errorf("GET %s does not start with the pinned client's banner (%s): %.80q", m[1], version, bundle)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("Cache-Control = %q, want immutable", cc)
	}
	module, err := os.ReadFile(filepath.Join(repoRoot, "web/resources/static/dist/datastar.js"))
	if err != nil || string(module) != bundle {
		t.Errorf("served bundle differs from the one copied from the Go module (%v)", err)
	}

	res, _ = get(t, a.URL+m[1], "If-None-Match", res.Header.Get("ETag"))
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET with the ETag = %d, want 304", res.StatusCode)
	}
}

func TestHealthProbes(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	for _, path := range []string{"/health/live", "/health/ready"} {
		res, body := get(t, a.URL+path)
		var status struct{ Status string }
		if err := json.Unmarshal([]byte(body), &status); err != nil || res.StatusCode != 200 || status.Status != "ok" {
			t.Errorf("GET %s = %d %s", path, res.StatusCode, body)
		}
	}
	if _, err := os.Stat(filepath.Join(a.DataDir, "nats", "jetstream")); err != nil {
		t.Errorf("embedded NATS keeps no JetStream files under DATA_DIR: %v", err)
	}
}

func TestCrossOriginWritesAreRejected(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	req, _ := http.NewRequest(http.MethodPost, a.URL+"/", strings.NewReader("{}"))
	req.Header.Set("Origin", "http://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST = %d, want 403", res.StatusCode)
	}
}

func TestGreetingRejectsMalformedSignals(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	cases := map[string]string{
		"not json":      "%7Bname",
		"name too long": "%7B%22name%22%3A%22" + strings.Repeat("x", 41) + "%22%7D",
	}
	for name, query := range cases {
		res, body := get(t, a.URL+"/about/greeting?datastar="+query, "Datastar-Request", "true")
		if res.StatusCode != http.StatusBadRequest || body == "" {
			t.Errorf("%s: GET /about/greeting = %d %q, want 400 with a message", name, res.StatusCode, body)
		}
	}
}

func TestInvalidConfigFailsNamingTheVariable(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(prodBin)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PORT=eighty", "DATA_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("app started with PORT=eighty:\n%s", out)
	}
	if !strings.Contains(string(out), `PORT="eighty"`) {
		t.Errorf("error does not name PORT:\n%s", out)
	}
}

func TestSIGTERMStopsCleanly(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	get(t, a.URL+"/")
	if err := a.terminate(10 * time.Second); err != nil {
		t.Fatalf("after SIGTERM: %v", err)
	}
	if !strings.Contains(a.logs.String(), "msg=stopped") {
		t.Errorf("no clean stop in the logs")
	}
}

// TestShutdownDelayKeepsServingWithReadinessDown: with SHUTDOWN_DELAY,
// SIGTERM turns /health/ready 503 at once, so that a balancer stops sending
// requests, while pages still answer 200 until the delay has passed; then
// the process stops cleanly.
func TestShutdownDelayKeepsServingWithReadinessDown(t *testing.T) {
	t.Parallel()
	const delay = 2 * time.Second
	a := startApp(t, appOptions{env: []string{"SHUTDOWN_DELAY=" + delay.String()}})
	client := &http.Client{Timeout: time.Second}
	waitFor(t, 30*time.Second, "/health/ready to answer 200 before the signal", func() bool {
		return statusOf(client, a.URL+"/health/ready") == http.StatusOK
	})

	signalled := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, delay, "/health/ready to answer 503 after SIGTERM", func() bool {
		return statusOf(client, a.URL+"/health/ready") == http.StatusServiceUnavailable
	})
	code := statusOf(client, a.URL+"/")
	if within := time.Since(signalled); within >= delay {
		t.Fatalf("the page was asked for %s after SIGTERM, past the delay: too late to see it served", within.Round(time.Millisecond))
	}
	if code != http.StatusOK {
		t.Errorf("during the shutdown delay, GET / = %d, want 200", code)
	}

	select {
	case <-a.exited:
	case <-time.After(delay + 15*time.Second):
		t.Fatalf("still running %s after SIGTERM", time.Since(signalled).Round(time.Second))
	}
	if took := time.Since(signalled); took < delay {
		t.Errorf("exited %s after SIGTERM, before the %s delay", took.Round(time.Millisecond), delay)
	}
	if a.exitErr != nil || !strings.Contains(a.logs.String(), "msg=stopped") {
		t.Errorf("no clean stop: exit %v", a.exitErr)
	}
}

// statusOf is the status of GET url, or 0 if it got no answer.
func statusOf(client *http.Client, url string) int {
	res, err := client.Get(url)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
