//ironstar:needs sortable

package e2e

import (
	"net/http"
	"strings"
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

func TestSortableRefusesAReorderWithoutAnOrder(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	c := newClient(t, a.URL)
	for _, body := range []string{`{}`, `null`, ``, `{"order":null}`} {
		if res, text := c.command(http.MethodPost, "/sortable", body); res.StatusCode != http.StatusBadRequest || !strings.Contains(text, "lacks a signal") {
			t.Errorf("reorder with %q = %d %q, want 400 naming the missing signal", body, res.StatusCode, text)
		}
	}
	if res, text := c.command(http.MethodPost, "/sortable", `{"order":[]}`); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("an empty order = %d %q, want 422 (present, but not the board's items)", res.StatusCode, text)
	}
	if res, _ := c.command(http.MethodPost, "/sortable", `{"order":["ship","plan","design","build","test"]}`); res.StatusCode != http.StatusOK {
		t.Errorf("a good order = %d, want 200", res.StatusCode)
	}
}
