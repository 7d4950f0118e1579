//ironstar:needs reverse

package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
)

func TestReverseComponentAndSignalsTalkBothWays(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	b := newBrowser(t)
	b.do(t,
		chromedp.Navigate(a.URL+"/reverse"),
		// Signal → component: the initial text arrives reversed, and the
		// component's event comes back as a signal.
		textIs("#reverser output", "ratsnorI"),
		textIs("#reported", "ratsnorI"),
		// Typing updates the signal, the component, and the read-out.
		chromedp.Evaluate[chromedp.Void](`document.getElementById("reverse-input").value = ""`),
		chromedp.SendKeys(chromedp.ID("reverse-input"), "héllo 👋"),
		textIs("#reverser output", "👋 olléh"),
		textIs("#reported", "👋 olléh"),
		// Component → signal: adopting sets the input's signal.
		chromedp.Click(chromedp.CSS("#reverser button")),
		waitJS(`document.getElementById("reverse-input").value === "👋 olléh"`),
		textIs("#reverser output", "héllo 👋"),
	)
	b.checkClean(t)
}
