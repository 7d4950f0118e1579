//ironstar:needs counter

package e2e

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var counterValue = regexp.MustCompile(`id="counter-(global|mine)"[^>]*>.*?<output class="counter-value"[^>]*>(\d+)</output>`)

// counters reads both counters as the page renders them.
func (c *client) counters() (global, mine int) {
	c.t.Helper()
	_, page := c.do(http.MethodGet, "/counter", "", nil)
	for _, m := range counterValue.FindAllStringSubmatch(page, -1) {
		n, _ := strconv.Atoi(m[2])
		if m[1] == "global" {
			global = n
		} else {
			mine = n
		}
	}
	return global, mine
}

func TestCounterLosesNoIncrementAcrossSessions(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	const visitors = 100
	clients := newClients(t, a.URL, visitors)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// 100 at once on one aggregate pass the admission bound: a
			// 503 is resent after Retry-After with the same key, as a page
			// would, and must still count once.
			key := fmt.Sprintf("visitor-%d", i)
			for {
				res, body := c.command(http.MethodPost, "/counter/global/increment", `{}`, "Idempotency-Key", key)
				if res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") != "" {
					time.Sleep(100 * time.Millisecond) // the client's pause before resending, not a wait for a condition
					continue
				}
				if res.StatusCode != 200 {
					t.Errorf("visitor %d: increment = %d %s", i, res.StatusCode, body)
				}
				break
			}
		}()
	}
	close(start)
	wg.Wait()
	waitFor(t, 10*time.Second, "the global counter at 100", func() bool {
		global, _ := clients[0].counters()
		return global == visitors
	})

	// A session's own counter is its own.
	clients[1].command(http.MethodPost, "/counter/mine/increment", `{}`)
	waitFor(t, 10*time.Second, "visitor 1's counter at 1", func() bool {
		_, mine := clients[1].counters()
		return mine == 1
	})
	if _, mine := clients[2].counters(); mine != 0 {
		t.Errorf("visitor 2's counter = %d, want 0", mine)
	}
	// Rules and bad input: 4xx, nothing changes.
	if res, _ := clients[2].command(http.MethodPost, "/counter/mine/decrement", `{}`); res.StatusCode != http.StatusConflict {
		t.Errorf("decrementing zero = %d, want 409", res.StatusCode)
	}
	if res, _ := clients[2].command(http.MethodPost, "/counter/theirs/increment", `{}`); res.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown counter = %d, want 404", res.StatusCode)
	}
	if global, _ := clients[3].counters(); global != visitors {
		t.Errorf("global = %d after bad input, want %d", global, visitors)
	}
}

func TestCounterPageMovesInEveryBrowser(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	alice, bob := newBrowser(t), newBrowser(t)
	for _, b := range []*browser{alice, bob} {
		b.do(t,
			chromedp.Navigate(a.URL+"/counter"),
			waitJS(`document.getElementById("counter-global")?.hasAttribute("data-live")`),
		)
	}
	value := func(id string) string {
		return fmt.Sprintf(`document.querySelector("#%s .counter-value").textContent`, id)
	}
	alice.do(t,
		chromedp.Click(chromedp.CSS(`#counter-global button[aria-label="Increment Everyone"]`)),
		waitJS(value("counter-global")+` === "1"`),
	)
	bob.do(t, waitJS(value("counter-global")+` === "1"`))

	alice.do(t,
		chromedp.Click(chromedp.CSS(`#counter-mine button[aria-label="Increment Yours"]`)),
		waitJS(value("counter-mine")+` === "1"`),
		chromedp.Click(chromedp.CSS(`#counter-global button[aria-label="Increment Everyone"]`)),
		waitJS(value("counter-global")+` === "2"`),
	)
	bob.do(t, waitJS(value("counter-global")+` === "2"`))
	if mine := eval[string](t, bob, value("counter-mine")); mine != "0" {
		t.Errorf("bob's own counter = %s, want 0", mine)
	}
	if !eval[bool](t, bob, `document.querySelector('#counter-mine button[aria-label="Decrement Yours"]').disabled`) {
		t.Error("decrement is enabled at zero")
	}
	alice.screenshot(t, "counter")
	alice.checkClean(t)
	bob.checkClean(t)
}
