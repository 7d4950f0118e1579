package projections

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"ironstar/es"
	"ironstar/features/projections/pages"
	"ironstar/internal/poll"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
	"ironstar/nats/projection"
	"ironstar/nats/reactor"
)

func render(t *testing.T, vm pages.StatusVM) string {
	t.Helper()
	var b bytes.Buffer
	if err := pages.Status(vm).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestProjectionStatusShowsARebuildsProgressTheLastErrorAndParkedEvents(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	report := Report{At: at, Projections: []ProjectionReport{{
		Status: projection.Status{
			Name: "todo_lists", Generation: 3, Version: 2, Position: 900, Lag: 4,
			LastError: "fetch: nats: timeout", LastErrorAt: at,
			LastRebuildError: "projection todo_lists: rebuild lock lost", LastRebuildAt: at,
			Parked: 2, FirstParked: &projection.Parked{Seq: 17, Key: "list-1", Error: "value too large to store"},
			Rebuild: &projection.RebuildProgress{Generation: 4, Version: 3, Position: 250, Total: 1000, EventsPerSecond: 125, Owner: "host pid 7"},
		},
		EventsPerSecond: 12.4,
	}}}
	html := render(t, viewModel(report))
	for _, want := range []string{
		`data-projection="todo_lists"`, `data-state="rebuilding"`, "3 <small>v2</small>",
		`<progress max="1000" value="250">`, "generation 4 (v3): 250 / 1000, 125 events/s, by host pid 7",
		"fetch: nats: timeout", "2026-11-30 12:00:00 UTC",
		"last rebuild failed 2026-11-30 12:00:00 UTC: projection todo_lists: rebuild lock lost",
		`event 17 on key &#34;list-1&#34;: value too large to store`,
		`<td>12</td>`, "disabled", "No reactors", "No leftovers",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the status lacks %q:\n%s", want, html)
		}
	}
}

func TestProjectionStatusListsReactorsAndLeftoversWithTheCleanupCommand(t *testing.T) {
	t.Parallel()
	report := Report{
		Reactors: []ReactorReport{{Status: reactor.Status{Name: "list_completed", Position: 40, Handled: 3, Retrying: 1,
			Parked: []reactor.Parked{{Seq: 12, Type: "list.completed", Attempts: 5, Error: "webhook: 500", At: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}}}}},
		Leftovers: []projection.Leftover{{Kind: "bucket", Name: "proj_old_1", Projection: "old", Generation: 1, Reason: "no projection of this app has this name"}},
	}
	html := render(t, viewModel(report))
	for _, want := range []string{
		`data-reactor="list_completed"`, `data-parked="12"`, "event 12 (list.completed), 5 attempts, 2026-11-30 12:00:00 UTC: webhook: 500",
		`title="bin/app projections redrive list_completed 12"`, "/projections/reactors/list_completed/redrive/12", ">Retry</button>", "No projections",
		`<code id="cleanup-command">bin/app projections cleanup</code>`, "proj_old_1", "(generation 1)",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the status lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, "No reactors") {
		t.Error(`the status says "No reactors" with one`)
	}
}

func TestProjectionRateIsThePositionsMoveBetweenTwoSamples(t *testing.T) {
	t.Parallel()
	s := &sampler{}
	t0 := time.Now()
	if r := s.rate("p", 100, t0); r != 0 {
		t.Errorf("first sample: rate %v, want 0", r)
	}
	if r := s.rate("p", 600, t0.Add(2*time.Second)); r != 250 {
		t.Errorf("500 events in 2 s: rate %v, want 250", r)
	}
	// A sample too close to the last keeps its rate and its point.
	if r := s.rate("p", 700, t0.Add(2*time.Second+time.Millisecond)); r != 250 {
		t.Errorf("a sample 1 ms later: rate %v, want 250 kept", r)
	}
	if r := s.rate("p", 700, t0.Add(3*time.Second)); r != 100 {
		t.Errorf("100 events in the next second: rate %v, want 100", r)
	}
}

// fakeProjection is a projection whose rebuild runs until finish is
// closed, reporting progress meanwhile.
type fakeProjection struct {
	name    string
	started chan struct{}
	finish  chan struct{}
	running atomic.Bool
}

func (f *fakeProjection) Name() string { return f.name }

func (f *fakeProjection) Status(context.Context) (projection.Status, error) {
	st := projection.Status{Name: f.name, Generation: 1}
	if f.running.Load() {
		st.Rebuild = &projection.RebuildProgress{Generation: 2, Position: 50, Total: 100, EventsPerSecond: 25, Owner: "here"}
	}
	return st, nil
}

func (f *fakeProjection) Rebuild(context.Context) (uint64, error) {
	f.running.Store(true)
	close(f.started)
	<-f.finish
	f.running.Store(false)
	return 2, nil
}

func TestProjectionRebuildRouteStreamsProgressUntilTheSwap(t *testing.T) {
	t.Parallel()
	f := &fakeProjection{name: "lists", started: make(chan struct{}), finish: make(chan struct{})}
	s := &sampler{projections: func() []projection.Reporter { return []projection.Reporter{f} }}
	r := chi.NewRouter()
	routes(r, deps{logger: slog.New(slog.DiscardHandler), lifetime: t.Context(), sampler: s})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	res, err := http.Post(srv.URL+RebuildPath("lists"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	lines := bufio.NewScanner(res.Body)
	<-f.started
	if !lines.Scan() {
		t.Fatalf("no progress line: %v", lines.Err())
	}
	var line RebuildLine
	if err := json.Unmarshal(lines.Bytes(), &line); err != nil || line.Progress == nil || line.Progress.Position != 50 || line.Done {
		t.Fatalf("first line %s (%v), want the progress at 50", lines.Bytes(), err)
	}

	// Meanwhile another rebuild of it is refused, and an unknown name too.
	for path, want := range map[string]int{RebuildPath("lists"): http.StatusConflict, RebuildPath("nope"): http.StatusNotFound} {
		res, err := http.Post(srv.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("POST %s: %s, want %d", path, res.Status, want)
		}
	}

	close(f.finish)
	for lines.Scan() {
		line = RebuildLine{}
		json.Unmarshal(lines.Bytes(), &line)
	}
	if !line.Done || line.Generation != 2 || line.Error != "" {
		t.Errorf("last line %+v, want done with generation 2", line)
	}
}

// post sends a POST to path, as the page does if datastar, and returns
// the status and body.
func post(t *testing.T, url string, datastar bool) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if datastar {
		req.Header.Set("Datastar-Request", "true")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(res.Body)
	return res.StatusCode, body.String()
}

func TestReactorRedriveRouteRunsAParkedEffectAgainOnceFixed(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	store, err := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	env := es.Envelope{ID: "e-1", Type: "item.touched", Version: 1, Data: []byte(`{}`), Meta: es.Metadata{CommandID: "c-1", OccurredAt: time.Now()}}
	if _, err := store.Append(t.Context(), es.StreamID{Aggregate: "item", ID: "1"}, 0, []es.Envelope{env}); err != nil {
		t.Fatal(err)
	}
	seq, err := store.LastSequence(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var fixed atomic.Bool // the webhook's receiver, fixed by its owner
	var ranWith atomic.Value
	runner, err := reactor.Start(t.Context(), conn.JS, reactor.Reactor{
		Name: "hook", Subjects: []string{"events.item.>"},
		React: func(_ context.Context, _ es.Envelope, key string) error {
			if !fixed.Load() {
				return reactor.Permanent(errors.New("webhook answered 422"))
			}
			ranWith.Store(key)
			return nil
		},
	}, reactor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { runner.Stop(context.Background()) })
	parked := func() int {
		st, err := runner.Status(t.Context())
		if err != nil {
			return -1
		}
		return len(st.Parked)
	}
	poll.Until(t, 10*time.Second, "the event parked", func() bool { return parked() == 1 })

	s := &sampler{reactors: func() []reactor.Reporter { return []reactor.Reporter{runner} }}
	r := chi.NewRouter()
	routes(r, deps{logger: slog.New(slog.DiscardHandler), lifetime: t.Context(), sampler: s})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	for _, c := range []struct {
		path string
		want int
		says string
	}{
		{RedrivePath("nope", seq), http.StatusNotFound, "no reactor named"},
		{"/projections/reactors/hook/redrive/x", http.StatusBadRequest, "not an event"},
		{RedrivePath("hook", seq+1), http.StatusConflict, "not parked"},
		{RedrivePath("hook", seq), http.StatusUnprocessableEntity, "webhook answered 422"}, // not fixed yet
	} {
		if status, body := post(t, srv.URL+c.path, true); status != c.want || !strings.Contains(body, c.says) || !strings.Contains(body, pages.AlertID) {
			t.Errorf("POST %s: %d %s; want %d in the page's alert saying %q", c.path, status, body, c.want, c.says)
		}
	}
	if n := parked(); n != 1 {
		t.Fatalf("%d parked after a failed retry, want 1", n)
	}

	fixed.Store(true)
	status, body := post(t, srv.URL+RedrivePath("hook", seq), false)
	var result RedriveResult
	if err := json.Unmarshal([]byte(body), &result); status != http.StatusOK || err != nil || result.Seq != seq || result.Reactor != "hook" {
		t.Fatalf("retry after the fix: %d %s; want 200 with the event", status, body)
	}
	if key := ranWith.Load(); key != reactor.Key("hook", seq) {
		t.Errorf("the effect ran with key %v, want the event's key %q", key, reactor.Key("hook", seq))
	}
	if n := parked(); n != 0 {
		t.Errorf("%d parked after the retry, want none", n)
	}
	if status, body := post(t, srv.URL+RedrivePath("hook", seq), false); status != http.StatusConflict || !strings.Contains(body, fmt.Sprintf("Event %d is not parked", seq)) {
		t.Errorf("a second retry: %d %s; want 409 saying it is not parked", status, body)
	}
}
