package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's Chromium (CHROMIUM overrides). Browser tests
// fail, not skip, without it: .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium not found: apt-get install chromium (or set CHROMIUM=/path/to/it)")
	return ""
}

// browser is one headless Chromium tab that records what a user could not
// see: console errors, uncaught exceptions and every request it makes.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	errors   []string
	requests []string
	// resumes lists the requests that carried a Last-Event-ID header, as
	// "URL id": an SSE stream resuming after a drop.
	resumes []string
	// commands lists the requests other than GET, as "METHOD URL key",
	// key being the Idempotency-Key they carried ("" for none).
	commands []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })

	b := &browser{ctx: ctx}
	// The first Run starts the browser; runtime, log and network are enabled.
	if _, err := chromedp.Run(ctx, chromedp.Title()); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.record(&b.errors, fmt.Sprintf("%s: %s (%s)", m.Type, m.Text, m.URL))
			}
		}
	}()
	go func() {
		for ev, err := range chromedp.Events(ctx, network.RequestWillBeSent) {
			if err != nil {
				return
			}
			b.record(&b.requests, ev.Request.URL)
			key := ""
			for name, value := range ev.Request.Headers {
				if strings.EqualFold(name, "Last-Event-ID") {
					b.record(&b.resumes, fmt.Sprintf("%s %v", ev.Request.URL, value))
				}
				if strings.EqualFold(name, "Idempotency-Key") {
					key = fmt.Sprint(value)
				}
			}
			if ev.Request.Method != http.MethodGet {
				b.record(&b.commands, ev.Request.Method+" "+ev.Request.URL+" "+key)
			}
		}
	}()
	return b
}

// newWindow opens another window of the same browser (same cookies).
// Errors and requests are not recorded for it.
func (b *browser) newWindow(t *testing.T) *browser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewWindow(true))
	t.Cleanup(cancel)
	// The first Run opens the window; it must not carry a timeout, which
	// would close the window with it.
	if _, err := chromedp.Run(ctx, chromedp.Title()); err != nil {
		t.Fatalf("open window: %v", err)
	}
	return &browser{ctx: ctx}
}

func (b *browser) record(list *[]string, s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	*list = append(*list, s)
}

// requestCount counts the requests the page made to URLs containing part.
func (b *browser) requestCount(part string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(slices.DeleteFunc(slices.Clone(b.requests), func(u string) bool { return !strings.Contains(u, part) }))
}

// do runs the steps, bounded so that a stuck page fails the test.
func (b *browser) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// until polls a JavaScript condition through page navigations (a poll inside
// the page would die with the page it started in).
func (b *browser) until(t *testing.T, expression string) {
	t.Helper()
	waitFor(t, 10*time.Second, expression, func() bool {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expression))
		return err == nil && ok
	})
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](t *testing.T, b *browser, expression string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expression, err)
	}
	return v
}

// checkClean fails the test on console errors and on any request that left
// 127.0.0.1 (the app must work offline: no CDN, font or icon service).
// Errors containing one of the expected substrings are allowed: a test that
// restarts the server expects the browser to report the dropped stream.
func (b *browser) checkClean(t *testing.T, expected ...string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		if !slices.ContainsFunc(expected, func(sub string) bool { return strings.Contains(e, sub) }) {
			t.Errorf("browser error: %s", e)
		}
	}
	for _, raw := range b.requests {
		u, err := url.Parse(raw)
		if err != nil {
			t.Errorf("unparsable request URL %q", raw)
			continue
		}
		if u.Scheme == "data" || u.Scheme == "blob" {
			continue
		}
		if u.Hostname() != "127.0.0.1" {
			t.Errorf("request left 127.0.0.1: %s", raw)
		}
	}
	if len(b.requests) == 0 {
		t.Error("no requests recorded: the network listener is not working")
	}
}

// screenshot saves a PNG when E2E_SCREENSHOTS names a directory.
func (b *browser) screenshot(t *testing.T, name string) {
	dir := os.Getenv("E2E_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Errorf("save screenshot: %v", err)
	}
}

func TestBrowserPageIsReactiveAndLocal(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	b := newBrowser(t)

	b.do(t,
		chromedp.Navigate(a.URL+"/about"),
		chromedp.WaitVisible(chromedp.ID("name")),
	)
	if title := eval[string](t, b, "document.title"); title != "About · Ironstar" {
		t.Errorf("title = %q", title)
	}

	// Signals: typing updates the preview in the browser.
	b.do(t,
		chromedp.SendKeys(chromedp.ID("name"), "Ada"),
		textIs("#preview", "Hello, Ada"),
	)

	// SSE round trip: the server renders the greeting fragment.
	b.do(t,
		chromedp.Click(chromedp.ID("greet")),
		textIs("#greeting", "Hello, Ada, from the server."),
	)

	// User text is escaped: markup arrives as text, not as an element.
	b.do(t,
		chromedp.Evaluate[chromedp.Void](`document.getElementById("name").value = ""`),
		chromedp.SendKeys(chromedp.ID("name"), "<img src=x onerror=alert(1)>"),
		chromedp.Click(chromedp.ID("greet")),
		textIs("#greeting", "Hello, <img src=x onerror=alert(1)>, from the server."),
	)
	if n := eval[int](t, b, `document.querySelectorAll("#greeting img").length`); n != 0 {
		t.Errorf("user text became %d <img> element(s)", n)
	}

	// The indicator: true while a request is out, false again when it
	// ends, whether answered 200 (an SSE patch) or refused (a plain 400:
	// a name over 40 characters, set past the input's maxlength).
	b.do(t, chromedp.Evaluate[chromedp.Void](`window.__busy = []; new MutationObserver(() => window.__busy.push(document.getElementById("greet").getAttribute("aria-busy"))).observe(document.getElementById("greet"), {attributes: true, attributeFilter: ["aria-busy"]})`))
	for _, name := range []string{"Grace", strings.Repeat("x", 41)} {
		b.do(t,
			chromedp.Evaluate[chromedp.Void](`window.__busy = []; document.getElementById("name").value = `+strconv.Quote(name)+`; document.getElementById("name").dispatchEvent(new Event("input", {bubbles: true}))`),
			chromedp.Click(chromedp.ID("greet")),
			waitJS(`window.__busy.join() === "true,false"`), // aria-busy, as the page binds it

		)
	}

	// The theme toggle (our own TypeScript bundle) cycles system → light → dark.
	b.do(t,
		chromedp.Click(chromedp.CSS("theme-toggle button")),
		chromedp.Click(chromedp.CSS("theme-toggle button")),
	)
	if theme := eval[string](t, b, "document.documentElement.dataset.theme"); theme != "dark" {
		t.Errorf("after two clicks the theme is %q, want dark", theme)
	}
	b.screenshot(t, "index-dark")
	b.checkClean(t, "status of 400 (Bad Request) (http://127.0.0.1:"+a.Port+"/about/greeting?datastar=") // the refused greeting
}

// textIs waits until the element's text content, with white space folded,
// equals want.
func textIs(selector, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector(%q)?.textContent.replace(/\s+/g, " ").trim() === %q`, selector, want),
		chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))
}

// TestDevBuildReloadsThePageWhenTheServerRestarts is the dev loop's last
// step: air restarts the app after a rebuild; the open page must notice the
// new process and reload itself. It also shows that SIGTERM ends an open SSE
// stream promptly (exit status 0 means the HTTP server drained in time).
func TestDevBuildReloadsThePageWhenTheServerRestarts(t *testing.T) {
	t.Parallel()
	first := startApp(t, appOptions{bin: devBin})
	b := newBrowser(t)
	b.do(t,
		chromedp.Navigate(first.URL+"/about"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.Poll[chromedp.Void](`document.getElementById("dev-reload")?.dataset.boot`),
		chromedp.Evaluate[chromedp.Void](`window.ironstarMarker = "before restart"`),
	)
	if err := first.terminate(10 * time.Second); err != nil {
		t.Fatalf("SIGTERM with a reload stream open: %v", err)
	}

	startApp(t, appOptions{bin: devBin, port: first.Port, dataDir: first.DataDir})
	// The page reloads (the marker is gone) and connects to the new process.
	b.until(t, `window.ironstarMarker === undefined && !!document.getElementById("dev-reload")?.dataset.boot`)

	// A rebuilt bundle (here: a newer modification time) reloads the page
	// without a restart.
	b.do(t, chromedp.Evaluate[chromedp.Void](`window.ironstarMarker = "before the bundle changed"`))
	css := filepath.Join(repoRoot, "web/resources/static/dist/app.css")
	now := time.Now()
	if err := os.Chtimes(css, now, now); err != nil {
		t.Fatal(err)
	}
	b.until(t, `window.ironstarMarker === undefined && !!document.getElementById("dev-reload")?.dataset.boot`)
	// The dropped stream shows as errors until the new process answers.
	b.checkClean(t, "/dev/reload", "error: network error", "Failed to fetch")
}

// waitJS waits until the JavaScript expression is true.
func waitJS(expression string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expression, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))
}
