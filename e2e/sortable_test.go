package e2e

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

const boardOrder = `[...document.querySelectorAll("#board li")].map(li => li.dataset.id).join(",")`

func TestSortableOrderIsStoredAndShared(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	b := newBrowser(t)
	b.do(t,
		chromedp.Navigate(a.URL+"/sortable"),
		waitJS(boardOrder+` === "plan,design,build,test,ship"`),
	)
	other := b.newWindow(t)
	other.do(t, chromedp.Navigate(a.URL+"/sortable"), waitJS(boardOrder+` === "plan,design,build,test,ship"`))

	// Drag "ship" onto "plan": it moves to the top.
	b.do(t,
		chromedp.DragAndDrop(chromedp.CSS(`#board li[data-id="ship"]`), chromedp.CSS(`#board li[data-id="plan"]`)),
		waitJS(boardOrder+` === "ship,plan,design,build,test"`),
	)
	// The other window follows, and a reload keeps it.
	other.do(t, waitJS(boardOrder+` === "ship,plan,design,build,test"`))
	// The keyboard way: move "test" up.
	other.do(t,
		chromedp.Click(chromedp.CSS(`#board button[aria-label="Move Test it in Chromium up"]`)),
		waitJS(boardOrder+` === "ship,plan,design,test,build"`),
	)
	b.do(t, waitJS(boardOrder+` === "ship,plan,design,test,build"`), chromedp.Reload())
	b.until(t, boardOrder+` === "ship,plan,design,test,build"`)
	b.screenshot(t, "sortable")
	b.checkClean(t)

	// An order that is not a permutation is refused and changes nothing.
	c := newClient(t, a.URL)
	if res, _ := c.command(http.MethodPost, "/sortable", `{"order":["plan","plan"]}`); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a bad order = %d, want 422", res.StatusCode)
	}
}
