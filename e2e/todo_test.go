//ironstar:needs todo

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The TodoMVC specification, driven like a user would in Chromium.

// todoTexts returns the labels of the shown todos.
func todoTexts(t *testing.T, b *browser) []string {
	t.Helper()
	return eval[[]string](t, b, `[...document.querySelectorAll(".todo-list li label")].map(l => l.textContent)`)
}

// waitTodos waits until the list shows exactly these texts, in order.
func waitTodos(texts ...string) chromedp.Action[chromedp.Void] {
	quoted := make([]string, len(texts))
	for i, s := range texts {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	return waitJS(fmt.Sprintf(`JSON.stringify([...document.querySelectorAll(".todo-list li label")].map(l => l.textContent)) === JSON.stringify([%s])`, strings.Join(quoted, ",")))
}

// addTodo types text into the new-todo field and presses Enter.
func addTodo(text string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(chromedp.CSS(".new-todo"), text+"\r")
}

func nth(i int) string { return fmt.Sprintf(".todo-list li:nth-child(%d)", i) }

func TestTodoMVCSpecification(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	b := newBrowser(t)
	b.do(t,
		chromedp.Navigate(a.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(".new-todo")),
		waitJS(`document.activeElement && document.activeElement.classList.contains("new-todo")`),
	)
	waitStream(t, b)
	if !eval[bool](t, b, `document.querySelector(".main").hidden && document.querySelector(".footer").hidden`) {
		t.Error("main and footer must be hidden while there are no todos")
	}

	// Adding: trimmed, empty ignored, input cleared.
	b.do(t,
		addTodo("  buy milk  "),
		waitTodos("buy milk"),
		waitJS(`document.querySelector(".new-todo").value === ""`),
		addTodo("   "),
		addTodo("eggs"),
		waitTodos("buy milk", "eggs"),
		waitJS(`!document.querySelector(".main").hidden && !document.querySelector(".footer").hidden`),
		waitJS(`document.querySelector(".todo-count").textContent.replace(/\s+/g, " ").trim() === "2 items left"`),
	)
	if strong := eval[string](t, b, `document.querySelector(".todo-count strong").textContent`); strong != "2" {
		t.Errorf("todo-count <strong> = %q", strong)
	}
	if eval[bool](t, b, `!!document.querySelector(".clear-completed")`) {
		t.Error("clear-completed shown with nothing completed")
	}

	// Completing one.
	b.do(t,
		chromedp.Click(chromedp.CSS(nth(1)+" .toggle")),
		waitJS(`document.querySelector(".todo-list li:nth-child(1)").classList.contains("completed")`),
		waitJS(`document.querySelector(".todo-count").textContent.replace(/\s+/g, " ").trim() === "1 item left"`),
		waitJS(`!!document.querySelector(".clear-completed")`),
	)

	// Toggle all, both ways; the checkbox follows the items.
	b.do(t,
		chromedp.Click(chromedp.CSS(".toggle-all")),
		waitJS(`document.querySelectorAll(".todo-list li.completed").length === 2`),
		waitJS(`document.querySelector(".toggle-all").checked`),
		waitJS(`document.querySelector(".todo-count").textContent.replace(/\s+/g, " ").trim() === "0 items left"`),
		// The todo_list_completed reactor records the completion; the
		// page says so, and stops saying it once a todo is open again.
		waitJS(`document.getElementById("todo-all-done")?.textContent === "All done!"`),
	)
	b.screenshot(t, "todo-all-done")
	b.do(t,
		chromedp.Click(chromedp.CSS(".toggle-all")),
		waitJS(`document.querySelectorAll(".todo-list li.completed").length === 0`),
		waitJS(`!document.querySelector(".toggle-all").checked`),
		waitJS(`!document.getElementById("todo-all-done")`),
		chromedp.Click(chromedp.CSS(nth(1)+" .toggle")),
		chromedp.Click(chromedp.CSS(nth(2)+" .toggle")),
		waitJS(`document.querySelector(".toggle-all").checked`),
		chromedp.Click(chromedp.CSS(nth(2)+" .toggle")),
		waitJS(`!document.querySelector(".toggle-all").checked`),
	)

	// Editing: double-click shows the edit field (and hides the rest of the
	// row); Enter saves trimmed text.
	b.do(t,
		chromedp.DoubleClick(chromedp.CSS(nth(2)+" label")),
		waitJS(`document.querySelector(".todo-list li:nth-child(2)").classList.contains("editing")`),
		waitJS(`document.activeElement === document.querySelector(".todo-list li:nth-child(2) .edit")`),
	)
	if visible := eval[bool](t, b, `getComputedStyle(document.querySelector(".todo-list li:nth-child(2) .view")).display !== "none"`); visible {
		t.Error("the row's other controls stay visible while editing")
	}
	b.do(t,
		chromedp.Evaluate[chromedp.Void](`document.querySelector(".todo-list li:nth-child(2) .edit").value = "  free-range eggs "`),
		chromedp.KeyEvent("\r"),
		waitTodos("buy milk", "free-range eggs"),
		waitJS(`!document.querySelector(".todo-list li.editing")`),
	)

	// Escape cancels.
	b.do(t,
		chromedp.DoubleClick(chromedp.CSS(nth(2)+" label")),
		waitJS(`document.activeElement === document.querySelector(".todo-list li:nth-child(2) .edit")`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(".todo-list li:nth-child(2) .edit").value = "changed my mind"`),
		chromedp.KeyEvent("\u001b"),
		waitJS(`!document.querySelector(".todo-list li.editing")`),
	)
	// Blur saves too; the stream must then show the new text.
	b.do(t,
		chromedp.DoubleClick(chromedp.CSS(nth(1)+" label")),
		waitJS(`document.activeElement === document.querySelector(".todo-list li:nth-child(1) .edit")`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(".todo-list li:nth-child(1) .edit").value = "oat milk"`),
		chromedp.Click(chromedp.CSS("h1")),
		waitTodos("oat milk", "free-range eggs"),
	)

	// Emptying a todo's text deletes it.
	b.do(t,
		addTodo("temporary"),
		waitTodos("oat milk", "free-range eggs", "temporary"),
		chromedp.DoubleClick(chromedp.CSS(nth(3)+" label")),
		waitJS(`document.activeElement === document.querySelector(".todo-list li:nth-child(3) .edit")`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(".todo-list li:nth-child(3) .edit").value = "   "`),
		chromedp.KeyEvent("\r"),
		waitTodos("oat milk", "free-range eggs"),
	)

	// Delete with the destroy button.
	b.do(t,
		addTodo("delete me"),
		waitTodos("oat milk", "free-range eggs", "delete me"),
		chromedp.Click(chromedp.CSS(nth(3)+" .destroy")),
		waitTodos("oat milk", "free-range eggs"),
	)

	// User text is text.
	b.do(t,
		addTodo("<img src=x onerror=alert(1)>"),
		waitTodos("oat milk", "free-range eggs", "<img src=x onerror=alert(1)>"),
	)
	if n := eval[int](t, b, `document.querySelectorAll(".todo-list img").length`); n != 0 {
		t.Errorf("a todo's text became %d <img> element(s)", n)
	}

	// Filters follow the URL, and the selected link with them. (The first
	// todo is the completed one since toggle-all.)
	b.do(t,
		waitJS(`document.querySelector(".todo-list li:nth-child(1)").classList.contains("completed")`),
	)
	follow := func(href, selected string, texts ...string) {
		t.Helper()
		b.do(t, chromedp.Click(chromedp.CSS(fmt.Sprintf(".filters a[href=%q]", href))))
		b.until(t, fmt.Sprintf(`location.pathname + location.search === %q && document.querySelector(".filters a.selected")?.textContent === %q`, href, selected))
		b.do(t, waitTodos(texts...))
		waitStream(t, b)
	}
	follow("/?filter=active", "Active", "free-range eggs", "<img src=x onerror=alert(1)>")
	follow("/?filter=completed", "Completed", "oat milk")
	follow("/?filter=active", "Active", "free-range eggs", "<img src=x onerror=alert(1)>")
	// Completing from the Active view takes the todo out of it.
	b.do(t, chromedp.Click(chromedp.CSS(nth(2)+" .toggle")), waitTodos("free-range eggs"))
	follow("/", "All", "oat milk", "free-range eggs", "<img src=x onerror=alert(1)>")
	b.screenshot(t, "todo")

	// Every action sent a fresh Idempotency-Key (ironstarCommand()), so a
	// retried request is stored once.
	b.mu.Lock()
	commands := slices.Clone(b.commands)
	b.mu.Unlock()
	keys := map[string]bool{}
	for _, c := range commands {
		fields := strings.Fields(c)
		if len(fields) != 3 || len(fields[2]) < 32 || keys[fields[2]] {
			t.Errorf("command %q: want a fresh Idempotency-Key", c)
			continue
		}
		keys[fields[2]] = true
	}
	if len(keys) < 10 {
		t.Errorf("%d commands with a key, want the test's dozen or more: %q", len(keys), commands)
	}

	// A command on a todo that is gone (deleted in another tab, say) shows
	// a clear error; the next command that works clears it.
	b.do(t,
		chromedp.Evaluate[chromedp.Void](`document.querySelector(".todo-list li").id = "todo-gone"`),
		chromedp.Click(chromedp.CSS(".todo-list li .destroy")),
		waitJS(`!document.getElementById("todo-error").hidden && document.getElementById("todo-error").textContent.includes("no longer exists")`),
		addTodo("after the error"),
		waitJS(`document.getElementById("todo-error").hidden`),
		waitTodos("oat milk", "free-range eggs", "<img src=x onerror=alert(1)>", "after the error"),
	)

	// Clear completed, then the state survives a reload.
	b.do(t,
		chromedp.Click(chromedp.CSS(".clear-completed")),
		waitTodos("free-range eggs", "after the error"),
		waitJS(`!document.querySelector(".clear-completed")`),
		chromedp.Reload(),
	)
	b.until(t, `document.readyState === "complete"`)
	b.do(t, waitTodos("free-range eggs", "after the error"))
	// The one expected error: the 404 answer to the command above.
	b.checkClean(t, "/todos/gone")
}

func TestTodoTabsOfOneSessionStayInSyncAndSessionsStayApart(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	b := newBrowser(t)
	openTodos(t, b, a.URL+"/")
	// A second window of the same browser: same cookie, same session. (A
	// window rather than a tab, so that neither page is hidden.)
	tab := b.newWindow(t)
	openTodos(t, tab, a.URL+"/")

	b.do(t, addTodo("from tab one"))
	tab.do(t, waitTodos("from tab one"))
	tab.do(t, addTodo("from tab two"))
	b.do(t, waitTodos("from tab one", "from tab two"))

	// Another browser is another session: it sees none of this.
	other := newBrowser(t)
	openTodos(t, other, a.URL+"/")
	if texts := todoTexts(t, other); len(texts) != 0 {
		t.Errorf("another session sees %v", texts)
	}
	other.do(t, addTodo("other session"), waitTodos("other session"))
	b.do(t, addTodo("three"), waitTodos("from tab one", "from tab two", "three"))
	b.checkClean(t)
}

// waitStream waits until the page's update stream has delivered its first
// frame, so that what follows is pushed, not loaded with the page.
func waitStream(t *testing.T, b *browser) {
	t.Helper()
	b.do(t, waitJS(`document.getElementById("todo-sync")?.hasAttribute("data-live")`))
}

// openTodos loads the todo page and waits until its stream is live.
func openTodos(t *testing.T, b *browser, url string) {
	t.Helper()
	b.do(t, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(".new-todo")))
	waitStream(t, b)
}

func TestTodoPageRecoversFromAServerRestart(t *testing.T) {
	t.Parallel()
	first := startApp(t, appOptions{})
	b := newBrowser(t)
	openTodos(t, b, first.URL+"/")
	b.do(t,
		addTodo("before the crash"),
		waitTodos("before the crash"),
		chromedp.Evaluate[chromedp.Void](`window.ironstarMarker = "same page"`),
	)

	// The process dies without any goodbye; a new one starts on the same
	// data directory and port.
	first.kill(t)
	second := startApp(t, appOptions{port: first.Port, dataDir: first.DataDir})

	// Another window of the same session adds a todo on the new process;
	// the first page, never reloaded, shows everything exactly once.
	other := b.newWindow(t)
	openTodos(t, other, second.URL+"/")
	other.do(t, waitTodos("before the crash"), addTodo("after the restart"))
	b.do(t, waitTodos("before the crash", "after the restart"))
	if marker := eval[string](t, b, `window.ironstarMarker`); marker != "same page" {
		t.Errorf("the page reloaded (marker %q): it must recover in place", marker)
	}
	// And it works from that page too.
	b.do(t, addTodo("from the recovered page"), waitTodos("before the crash", "after the restart", "from the recovered page"))
	// The dropped stream shows as errors until the new process answers.
	b.checkClean(t, "/todos/updates", "error: network error", "Failed to fetch")
}
