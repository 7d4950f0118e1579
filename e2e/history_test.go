//ironstar:needs todo

package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// historyRows are the rows of the todo list the time-travel page shows:
// each row's text, then " done" if completed and " *" if the selected
// event changed it.
const historyRows = `[...document.querySelectorAll("#todo-history li")].map(li =>
	li.querySelector("label").textContent + (li.classList.contains("completed") ? " done" : "") + (li.classList.contains("changed") ? " *" : "")).join(", ")`

// historyAt waits until the page shows the aggregate at position pos.
func historyAt(pos string) chromedp.Action[chromedp.Void] {
	return waitJS(`document.getElementById("history-point")?.dataset.pos === "` + pos + `"`)
}

func TestTimeTravelShowsATodoListAsItWas(t *testing.T) {
	t.Parallel()
	const token = "time-travel-test-admin-token"
	natsPort := freePort(t)
	a := startApp(t, appOptions{env: []string{"ADMIN_TOKEN=" + token, "NATS_PORT=" + natsPort}})
	b := newBrowser(t)

	// Five events: three adds, a completion, a rename.
	openTodos(t, b, a.URL+"/")
	b.do(t,
		addTodo("milk"), waitTodos("milk"),
		addTodo("bread"), waitTodos("milk", "bread"),
		addTodo("eggs"), waitTodos("milk", "bread", "eggs"),
		chromedp.Click(chromedp.CSS(nth(2)+" .toggle")),
		waitJS(`document.querySelector(".todo-list li:nth-child(2)").classList.contains("completed")`),
		chromedp.DoubleClick(chromedp.CSS(nth(3)+" label")),
		waitJS(`document.activeElement === document.querySelector(".todo-list li:nth-child(3) .edit")`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(".todo-list li:nth-child(3) .edit").value = "a dozen eggs"`),
		chromedp.KeyEvent("\r"),
		waitTodos("milk", "bread", "a dozen eggs"),
	)

	// The list's aggregate is the session's: its events' subject names it.
	events, err := embeddedJetStream(t, natsPort).Stream(t.Context(), "EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	last, err := events.GetLastMsgForSubject(t.Context(), "events.todo.>")
	if err != nil {
		t.Fatal(err)
	}
	history := "/history/todo/" + strings.TrimPrefix(last.Subject, "events.todo.")

	// Operator routes: nothing there without the token, the page with it.
	c := newClient(t, a.URL)
	if res, body := c.do(http.MethodGet, history, "", nil); res.StatusCode != http.StatusNotFound || strings.Contains(body, "todo-history") {
		t.Fatalf("GET %s without credentials = %d, want 404", history, res.StatusCode)
	}
	if res, body := c.do(http.MethodGet, history, "", map[string]string{"Authorization": "Bearer " + token}); res.StatusCode != http.StatusOK || !strings.Contains(body, `id="todo-history"`) {
		t.Fatalf("GET %s with the bearer token = %d:\n%s", history, res.StatusCode, body)
	}

	// A browser signs in through the form.
	b.do(t,
		chromedp.Navigate(a.URL+"/operator/sign-in"),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Submit(chromedp.ID("token")),
	)
	b.until(t, `location.pathname === "/events"`)
	b.do(t,
		chromedp.Navigate(a.URL+history),
		chromedp.WaitVisible(chromedp.ID("history-slider")),
		historyAt("5"),
	)
	// At first the latest event: the rename.
	if rows := eval[string](t, b, historyRows); rows != "milk, bread done, a dozen eggs *" {
		t.Errorf("at the rename the list shows %q", rows)
	}
	if change := eval[string](t, b, `document.getElementById("todo-history-change").textContent`); change != `Renamed "eggs" to "a dozen eggs".` {
		t.Errorf("the rename is described as %q", change)
	}

	// One step back on the slider: the list when bread was completed, and
	// the page's URL points there.
	b.do(t,
		chromedp.Focus(chromedp.ID("history-slider")),
		chromedp.KeyEvent(kb.ArrowLeft),
		historyAt("4"),
		waitJS(`location.search === "?at=" + document.getElementById("history-point").dataset.seq`),
	)
	completed := func() {
		t.Helper()
		if rows := eval[string](t, b, historyRows); rows != "milk, bread done *, eggs" {
			t.Errorf("at the completion the list shows %q", rows)
		}
		if event := eval[string](t, b, `document.getElementById("history-event-type").textContent`); event != "todo.completed v1" {
			t.Errorf("the event shown is %q", event)
		}
		if !eval[bool](t, b, `!!document.querySelector("#history-event-time time")`) {
			t.Error("the event's time is not shown")
		}
		if slider := eval[string](t, b, `document.getElementById("history-slider").value`); slider != "4" {
			t.Errorf("the slider is at %s", slider)
		}
	}
	completed()
	b.screenshot(t, "history-todo-completed")

	// The URL is a link to that point: loaded again, it shows the same.
	b.do(t,
		chromedp.Navigate(eval[string](t, b, "location.href")),
		chromedp.WaitVisible(chromedp.ID("history-slider")),
		historyAt("4"),
	)
	completed()

	// The step link goes one further back: eggs added, bread still open.
	b.do(t,
		chromedp.Click(chromedp.ID("history-prev")),
		historyAt("3"),
	)
	if rows := eval[string](t, b, historyRows); rows != "milk, bread, eggs *" {
		t.Errorf("at the third add the list shows %q", rows)
	}
	b.checkClean(t)
}
