//ironstar:needs monitor

package e2e

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestMonitorShowsLiveHostLoad(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	b := newBrowser(t)
	b.do(t,
		chromedp.Navigate(a.URL+"/monitor"),
		waitJS(`/^\d+\.\d %$/.test(document.getElementById("monitor-cpu").textContent)`),
		waitJS(`/iB of .*iB$/.test(document.getElementById("monitor-mem").textContent)`),
	)
	// A second later, a newer sample.
	first := eval[string](t, b, `document.getElementById("monitor-at").textContent`)
	b.do(t, waitJS(fmt.Sprintf(`document.getElementById("monitor-at").textContent !== %q`, first)))
	b.checkClean(t)
}
