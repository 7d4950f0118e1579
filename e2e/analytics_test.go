//ironstar:needs analytics todo counter

package e2e

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestAnalyticsChartsMoveWithCommandsElsewhere(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{env: []string{"NATS_PORT=" + freePort(t)}})
	engineMetrics := "127.0.0.1:" + freePort(t)
	startEngine(t, a, "METRICS_ADDR="+engineMetrics)
	b := newBrowser(t)
	b.do(t,
		chromedp.Navigate(a.URL+"/analytics"),
		// The first dashboard arrives and every chart draws.
		waitJS(`document.querySelector("#chart-per-minute canvas") && document.querySelector("#chart-lists canvas")`),
		waitJS(`document.querySelector("#chart-flow canvas")`),
	)
	before := eval[string](t, b, `document.getElementById("analytics-events").textContent`)

	// Another "tab" (a session without a browser) uses the todo and counter pages.
	c := newClient(t, a.URL)
	for _, title := range []string{"one", "two", "three"} {
		if res, _ := c.command(http.MethodPost, "/todos", `{"title":"`+title+`"}`); res.StatusCode != 200 {
			t.Fatalf("add = %d", res.StatusCode)
		}
	}
	c.command(http.MethodPost, "/counter/global/increment", `{}`)

	b.do(t,
		waitJS(`document.getElementById("analytics-events").textContent !== `+"\""+before+"\""+` && Number(document.getElementById("analytics-events").textContent) >= 4`),
		waitJS(`document.getElementById("analytics-sessions").textContent === "1"`),
		waitJS(`document.getElementById("chart-per-minute").getAttribute("option")?.includes("todo.added")`),
		waitJS(`document.getElementById("chart-per-minute").getAttribute("option")?.includes("counter.incremented")`),
		waitJS(`document.getElementById("chart-lists").getAttribute("option")?.includes('"data":[3]')`),
		// The other session's list is a rank, never (part of) its ID.
		waitJS(`document.getElementById("chart-lists").getAttribute("option")?.includes('"data":["list #1"]')`),
		waitJS(`document.getElementById("chart-flow").getAttribute("spec")?.includes('"kind":"added","minute"')`),
	)
	b.screenshot(t, "analytics")
	b.checkClean(t)

	// The session that added the todos sees its own list as "yours".
	openStream(t, c, a.URL+"/analytics/updates", "").waitFor(t, `"data":["yours"]`)

	// The engine's metrics: it publishes, and its copy holds every event.
	m := scrape(t, engineMetrics)
	if m["ironstar_analytics_publishing"] != 1 || m["ironstar_analytics_checkpoint"] < 4 || m["ironstar_analytics_lag_events"] != 0 {
		t.Errorf("engine metrics: publishing %v, checkpoint %v, lag %v; want 1, at least 4, 0",
			m["ironstar_analytics_publishing"], m["ironstar_analytics_checkpoint"], m["ironstar_analytics_lag_events"])
	}
	if m["process_resident_memory_bytes"] == 0 {
		t.Error("the engine serves no process metrics")
	}
}
