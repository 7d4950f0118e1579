//ironstar:needs todo

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMetricsCountCommandsStreamsProjectionsAndNATS scrapes the metrics
// after a few commands of each outcome, with a stream open, and checks the
// families and their values.
func TestMetricsCountCommandsStreamsProjectionsAndNATS(t *testing.T) {
	t.Parallel()
	metricsAddr := "127.0.0.1:" + freePort(t)
	a := startApp(t, appOptions{env: []string{"METRICS_ADDR=" + metricsAddr}})
	c := newClient(t, a.URL)
	stream := openStream(t, c, a.URL+"/todos/updates", "")
	stream.next(t)

	for _, title := range []string{"one", "two", "three"} {
		if res, body := c.command(http.MethodPost, "/todos", `{"title":"`+title+`"}`, "Idempotency-Key", "add-"+title); res.StatusCode != 200 {
			t.Fatalf("add %s = %d: %s", title, res.StatusCode, body)
		}
	}
	if res, _ := c.command(http.MethodPost, "/todos", `{"title":"three"}`, "Idempotency-Key", "add-three"); res.StatusCode != 200 {
		t.Fatalf("the same add again = %d, want 200 (a duplicate)", res.StatusCode)
	}
	if res, _ := c.command(http.MethodPost, "/todos/nosuchitem/complete", `{}`); res.StatusCode != 404 {
		t.Fatalf("completing a missing item = %d, want 404", res.StatusCode)
	}
	stream.waitFor(t, "three")

	m := scrape(t, metricsAddr)
	for sample, want := range map[string]float64{
		`ironstar_commands_total{feature="todo",outcome="stored"}`:                 3,
		`ironstar_commands_total{feature="todo",outcome="duplicate"}`:              1,
		`ironstar_commands_total{feature="todo",outcome="rejected"}`:               1,
		`ironstar_commands_total{feature="todo",outcome="failed"}`:                 0,
		`ironstar_command_duration_seconds_count{feature="todo",outcome="stored"}`: 3,
		`ironstar_sse_streams_open{feature="todo"}`:                                1,
		`ironstar_nats_connected`:                                                  1,
		`ironstar_jetstream_up`:                                                    1,
		`ironstar_event_store_events`:                                              3,
		`ironstar_projection_generation{projection="todo_lists"}`:                  1,
	} {
		if got, ok := m[sample]; !ok || got != want {
			t.Errorf("%s = %v (present: %v), want %v", sample, got, ok, want)
		}
	}
	if m[`ironstar_sse_frames_sent_total{feature="todo"}`] < 2 {
		t.Errorf("frames sent = %v, want at least the first frame and one update", m[`ironstar_sse_frames_sent_total{feature="todo"}`])
	}
	if m[`ironstar_nats_messages_total{direction="out"}`] == 0 || m[`ironstar_nats_bytes_total{direction="in"}`] == 0 {
		t.Error("no NATS traffic counted")
	}
	if m[`ironstar_jetstream_api_requests_total`] == 0 {
		t.Error("no JetStream API requests counted")
	}
	// The projection's acknowledgements reach the server after the frame.
	waitFor(t, 10*time.Second, "the projection at the stream's end with no lag", func() bool {
		m = scrape(t, metricsAddr)
		return m[`ironstar_projection_position{projection="todo_lists"}`] == m[`ironstar_event_store_last_sequence`] &&
			m[`ironstar_projection_lag_events{projection="todo_lists"}`] == 0
	})
	if applied := m[`ironstar_projection_events_applied_total{projection="todo_lists"}`]; applied != 3 {
		t.Errorf("events applied by the one instance = %v, want 3", applied)
	}
	for sample := range m {
		if strings.Contains(sample, "nosuchitem") {
			t.Errorf("a metric is labelled with a raw path: %s", sample)
		}
	}
	dashboardChartsOnly(t, m)
}

// dashboardChartsOnly checks that every metric the Grafana dashboard
// queries is one the app serves.
func dashboardChartsOnly(t *testing.T, scraped map[string]float64) {
	t.Helper()
	served := map[string]bool{}
	for sample := range scraped {
		name, _, _ := strings.Cut(sample, "{")
		served[name] = true
	}
	data, err := os.ReadFile("../metrics/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dashboard struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(data, &dashboard); err != nil {
		t.Fatalf("the Grafana dashboard: %v", err)
	}
	queried := 0
	for _, p := range dashboard.Panels {
		for _, target := range p.Targets {
			for _, name := range metricName.FindAllString(target.Expr, -1) {
				queried++
				if !served[name] {
					t.Errorf("the dashboard's panel %q queries %s, which the app does not serve", p.Title, name)
				}
			}
		}
	}
	if queried < 20 {
		t.Errorf("the dashboard queries %d metrics; its panels were not read", queried)
	}
}

// metricName finds the app's, the Go runtime's and the process's metric
// names in a PromQL expression.
var metricName = regexp.MustCompile(`\b(?:ironstar|go|process)_[a-z_]+\b`)
