//ironstar:needs analytics

package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"ironstar/features"
	"ironstar/internal/logbuf"
	"ironstar/nats/leader"
)

// engineBinName is the analytics engine's binary in binDir (TestMain
// builds it).
const engineBinName = "analytics"

// engine is one running analytics engine (cmd/analytics).
type engine struct {
	cmd     *exec.Cmd
	logs    *logbuf.Buffer
	exited  chan struct{}
	exitErr error
}

// startEngine starts an analytics engine against the app's embedded NATS
// server (the app must have been started with NATS_PORT in its env), with
// its own DATA_DIR, and env added to its environment. It is stopped (SIGINT, then SIGKILL) when the test
// ends, and its log is shown if the test failed.
func startEngine(t testing.TB, a *app, env ...string) *engine {
	t.Helper()
	if a.NATSPort == "" {
		t.Fatal("startEngine: the app was started without NATS_PORT, so the engine cannot reach its NATS")
	}
	dataDir := t.TempDir()
	e := &engine{logs: &logbuf.Buffer{}, exited: make(chan struct{})}
	bin := filepath.Join(binDir, engineBinName)
	e.cmd = exec.Command(bin)
	e.cmd.Dir = dataDir // no .env of the repository's
	e.cmd.Env = append(append(os.Environ(), "NATS_URL=", "NATS_PORT="+a.NATSPort, "DATA_DIR="+dataDir, "LOG_LEVEL=info", "METRICS_ADDR="), env...)
	e.cmd.Stdout = e.logs
	e.cmd.Stderr = e.logs
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		e.exitErr = e.cmd.Wait()
		close(e.exited)
	}()
	t.Cleanup(func() {
		e.stop(t)
		if t.Failed() {
			t.Logf("analytics engine logs:\n%s", tail(e.logs.String()))
		}
	})
	return e
}

// stop ends the engine as Ctrl-C does (SIGINT) and waits for it to exit;
// SIGKILL if it has not within 10 s. It does nothing if it has exited.
func (e *engine) stop(t testing.TB) {
	t.Helper()
	select {
	case <-e.exited:
		return
	default:
	}
	if err := e.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("stop engine: %v", err)
	}
	select {
	case <-e.exited:
		if e.exitErr != nil {
			t.Errorf("engine exited after SIGINT: %v", e.exitErr)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("engine still running 10s after SIGINT")
		e.cmd.Process.Kill()
		<-e.exited
	}
}

// kill ends the engine at once (SIGKILL): it keeps its lease until the
// lease's TTL runs out.
func (e *engine) kill(t testing.TB) {
	t.Helper()
	if err := e.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-e.exited
}

// engineLeaseTTL is how long a killed engine's lease outlives it (the
// engines use nats/leader's default), and engineCheckEvery how often the
// page asks whether an engine runs (features/analytics).
const (
	engineLeaseTTL   = leader.DefaultTTL
	engineCheckEvery = 2 * time.Second
)

// TestAnalyticsPageSaysWhenTheEngineIsNotRunning runs the app without an
// analytics engine: /analytics says so and every other page works. An
// engine started later hides the notice and counts a new command; stopped
// (SIGINT), or killed (SIGKILL) and its lease left to run out, the notice
// shows again.
//
//ironstar:needs todo
func TestAnalyticsPageSaysWhenTheEngineIsNotRunning(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{env: []string{"NATS_PORT=" + freePort(t)}})
	b := newBrowser(t)
	const noticeShown = `document.getElementById("analytics-engine-missing")?.hidden === false`
	const noticeHidden = `document.getElementById("analytics-engine-missing")?.hidden === true`
	b.do(t, chromedp.Navigate(a.URL+"/analytics"), waitJS(noticeShown))

	for _, f := range features.All() {
		if f.Nav == nil || f.Nav.Href == "/analytics" {
			continue
		}
		b.do(t,
			chromedp.Navigate(a.URL+f.Nav.Href),
			waitJS(fmt.Sprintf(`document.querySelector("h1")?.textContent.trim() !== "" && document.querySelector('nav a[aria-current="page"]')?.getAttribute("href") === %q`, f.Nav.Href)),
		)
	}

	b.do(t, chromedp.Navigate(a.URL+"/analytics"), waitJS(noticeShown))
	first := startEngine(t, a)
	waitPage := func(timeout time.Duration, what, expression string) {
		t.Helper()
		waitFor(t, timeout, what, func() bool {
			ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expression))
			return err == nil && ok
		})
	}
	waitPage(30*time.Second, "the notice to hide once an engine runs", noticeHidden)
	before := eval[string](t, b, `document.getElementById("analytics-events").textContent`)
	c := newClient(t, a.URL)
	if res, _ := c.command(http.MethodPost, "/todos", `{"title":"counted"}`); res.StatusCode != http.StatusOK {
		t.Fatalf("add = %d", res.StatusCode)
	}
	waitPage(30*time.Second, "the events count to move after a command", fmt.Sprintf(`document.getElementById("analytics-events").textContent !== %q`, before))

	first.stop(t)
	stopped := time.Now()
	waitPage(engineCheckEvery+2*time.Second, "the notice to show once the engine stopped (SIGINT)", noticeShown)
	t.Logf("notice shown %s after the engine stopped", time.Since(stopped).Round(time.Millisecond))

	second := startEngine(t, a)
	waitPage(30*time.Second, "the notice to hide once a second engine runs", noticeHidden)
	second.kill(t)
	killed := time.Now()
	waitPage(engineLeaseTTL+engineCheckEvery+2*time.Second, "the notice to show once the killed engine's lease ran out", noticeShown)
	t.Logf("notice shown %s after the engine was killed", time.Since(killed).Round(time.Millisecond))
	b.checkClean(t)
}
