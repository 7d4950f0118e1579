//ironstar:needs counter

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// shownCounter is the expression reading a counter's shown value.
func shownCounter(id string) string {
	return fmt.Sprintf(`Number(document.querySelector("#%s .counter-value").textContent)`, id)
}

// A page whose commands come faster than the session's quota shows why
// nothing happened, and works again once the rate allows.
func TestBrowserPastItsQuotaShowsTheMessageAndRecovers(t *testing.T) {
	t.Parallel()
	// One command every 5 s, one at once.
	a := startApp(t, appOptions{env: []string{"SESSION_WRITE_RATE=12", "SESSION_WRITE_BURST=1"}})
	b := newBrowser(t)
	b.do(t,
		chromedp.Navigate(a.URL+"/counter"),
		waitJS(`document.getElementById("counter-mine")?.hasAttribute("data-live")`),
	)
	increment := chromedp.Click(chromedp.CSS(`#counter-mine button[aria-label="Increment Yours"]`))
	alertShown := `!document.getElementById("counter-error").hidden`

	// The first click is within the quota, the next one right after is not.
	b.do(t, increment, waitJS(shownCounter("counter-mine")+` === 1`))
	b.do(t, increment, waitJS(alertShown))
	if text := eval[string](t, b, `document.getElementById("counter-error").textContent`); !strings.Contains(text, "Too many changes") || !strings.Contains(text, "nothing was saved") {
		t.Errorf("the alert says %q; want it to say there were too many changes and nothing was saved", text)
	}
	b.screenshot(t, "counter-over-quota")

	// Clicking again now and then, the first click the rate allows goes
	// through and clears the alert; none before it was stored. (A click a
	// second: the user waiting, not the test.)
	var last time.Time
	waitFor(t, 15*time.Second, "a click at the quota's rate to be stored and clear the alert", func() bool {
		if time.Since(last) >= time.Second {
			b.do(t, increment)
			last = time.Now()
		}
		return !eval[bool](t, b, alertShown)
	})
	b.do(t, waitJS(shownCounter("counter-mine")+` === 2`))
	// Chromium reports each refused request on the console.
	b.checkClean(t, "429")
}

// A page whose update stream is refused (503: the process's streams are
// all taken) opens it as soon as a place comes free, without a reload.
func TestBrowserStreamRefusedAtTheCapOpensOnceAPlaceIsFree(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{env: []string{"HTTP_MAX_STREAMS=1"}})
	first, second := newBrowser(t), newBrowser(t)
	first.do(t,
		chromedp.Navigate(a.URL+"/counter"),
		waitJS(`document.getElementById("counter-global")?.hasAttribute("data-live")`),
	)
	second.do(t,
		chromedp.Navigate(a.URL+"/counter"),
		chromedp.WaitVisible(chromedp.ID("counter-global")),
		chromedp.Evaluate[chromedp.Void](`window.ironstarMarker = "same page"`),
	)
	// Refused, and asked again: Datastar retries the stream.
	waitFor(t, 15*time.Second, "the second page to ask for its stream twice", func() bool {
		return second.requestCount("/counter/updates") >= 2
	})
	if eval[bool](t, second, `document.getElementById("counter-global").hasAttribute("data-live")`) {
		t.Fatal("the second page's stream is live with the only place taken")
	}

	// The first browser closes: its place comes free, the second page's
	// stream opens and follows a command.
	if err := chromedp.Cancel(first.ctx); err != nil {
		t.Fatalf("close the first browser: %v", err)
	}
	second.do(t, waitJS(`document.getElementById("counter-global")?.hasAttribute("data-live")`))
	before := eval[int](t, second, shownCounter("counter-global"))
	second.do(t,
		chromedp.Click(chromedp.CSS(`#counter-global button[aria-label="Increment Everyone"]`)),
		waitJS(fmt.Sprintf(`%s === %d`, shownCounter("counter-global"), before+1)),
	)
	if marker := eval[string](t, second, `window.ironstarMarker`); marker != "same page" {
		t.Errorf("the page reloaded (marker %q): the stream must come back in place", marker)
	}
	// Each refusal shows on the console: the 503, and Datastar's retry.
	second.checkClean(t, "/counter/updates", "network error")
}
