//ironstar:needs todo

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"ironstar/es"
	"ironstar/features/projections"
	"ironstar/features/todo"
	"ironstar/internal/poll"
	"ironstar/nats/eventstore"
	"ironstar/nats/projection"
)

// rebuildOverHTTP asks the app to rebuild name, as the command line does,
// and returns the answer's last line; it runs in its own goroutine, so it
// reports failures in the line rather than through t.
func rebuildOverHTTP(a *app, name string) projections.RebuildLine {
	req, _ := http.NewRequest(http.MethodPost, a.URL+projections.RebuildPath(name), nil)
	req.Header.Set("Authorization", "Bearer "+projectionsToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return projections.RebuildLine{Error: err.Error()}
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return projections.RebuildLine{Error: res.Status}
	}
	var last projections.RebuildLine
	for lines := bufio.NewScanner(res.Body); lines.Scan(); {
		last = projections.RebuildLine{}
		if err := json.Unmarshal(lines.Bytes(), &last); err != nil {
			return projections.RebuildLine{Error: err.Error()}
		}
	}
	return last
}

// TestProjectionRebuildWhileTodosAreWrittenEqualsAFoldOfTheStream: a
// rebuild of todo_lists asked over HTTP while todos are being added swaps
// in a generation equal to folding the whole stream; then the command line
// rebuilds it again and prints the outcome.
func TestProjectionRebuildWhileTodosAreWrittenEqualsAFoldOfTheStream(t *testing.T) {
	t.Parallel()
	a := startProjectionsApp(t)
	c := newClient(t, a.URL)
	added := 0
	add := func() {
		t.Helper()
		added++
		if res, body := c.command(http.MethodPost, "/todos", fmt.Sprintf(`{"title":"todo %d"}`, added)); res.StatusCode != http.StatusOK {
			t.Fatalf("add todo %d = %d %s", added, res.StatusCode, body)
		}
		// Completed and reopened now and then, so that the values change
		// in more than their length.
		for path, every := range map[string]int{"/todos/complete-all": 25, "/todos/reopen-all": 40} {
			if added%every == 0 {
				if res, body := c.command(http.MethodPost, path, ""); res.StatusCode != http.StatusOK {
					t.Fatalf("%s = %d %s", path, res.StatusCode, body)
				}
			}
		}
	}
	for range 150 {
		add()
	}
	done := make(chan projections.RebuildLine, 1)
	go func() { done <- rebuildOverHTTP(a, todo.ProjectionName) }()
	var result projections.RebuildLine
	during := 0
	for !result.Done && result.Error == "" {
		select {
		case result = <-done:
		default:
			add()
			during++
		}
	}
	for range 20 {
		add()
	}
	if result.Error != "" || result.Generation != 2 {
		t.Fatalf("rebuild: %+v, want generation 2", result)
	}
	t.Logf("%d todos added during the rebuild", during)

	js := embeddedJetStream(t, a.NATSPort)
	events, err := eventstore.Open(js).ReadBetween(t.Context(), "", 0, math.MaxUint64)
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1].Sequence
	poll.Until(t, 20*time.Second, "todo_lists to apply every event, the rebuild over", func() bool {
		for _, p := range projectionsReport(t, a).Projections {
			if p.Name == todo.ProjectionName {
				return p.Generation == 2 && p.Rebuild == nil && p.Position >= last && p.Lag == 0
			}
		}
		return false
	})
	reg := es.NewRegistry()
	todo.Feature().Register(reg)
	fold := todo.Projection(reg)
	want := map[string]todo.ListView{}
	for _, env := range events {
		for _, key := range fold.Keys(env) {
			if want[key], err = fold.Apply(key, want[key], env); err != nil {
				t.Fatalf("fold event %d: %v", env.Sequence, err)
			}
		}
	}
	view, err := projection.OpenView[todo.ListView](t.Context(), js, todo.ProjectionName)
	if err != nil {
		t.Fatal(err)
	}
	got, err := view.All(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("the read model holds %d lists, the fold %d", len(got), len(want))
	}
	for key, w := range want {
		wantJSON, _ := json.Marshal(w)
		gotJSON, _ := json.Marshal(got[key].Value)
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("list %s:\nread model %s\nfold       %s", key, gotJSON, wantJSON)
		}
	}
	for key, list := range want { // the one list of the client's session
		if len(want) != 1 || len(list.Items) != added {
			t.Errorf("list %s of %d holds %d todos, want the one list with the %d added", key, len(want), len(list.Items), added)
		}
	}

	// The command line does the same against the running app.
	out, code := projectionsCLI(t, a, projectionsToken, "rebuild", todo.ProjectionName)
	if code != 0 || !strings.Contains(out, "todo_lists: rebuilt; generation 3 serves") {
		t.Errorf("projections rebuild todo_lists: exit %d, output:\n%s", code, out)
	}
	out, code = projectionsCLI(t, a, projectionsToken, "rebuild", "no_such_projection")
	if code != 1 || !strings.Contains(out, `no projection named "no_such_projection"`) {
		t.Errorf("projections rebuild no_such_projection: exit %d, output:\n%s", code, out)
	}
}
