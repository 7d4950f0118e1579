package counter

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"ironstar/es"
	"ironstar/features/common/layouts"
	"ironstar/features/counter/pages"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
	"ironstar/nats/projection"
)

// storedMessage is one message of the EVENTS stream: subject, headers and
// payload as JetStream holds them.
type storedMessage struct {
	Subject string          `json:"subject"`
	Headers nats.Header     `json:"headers"`
	Data    json.RawMessage `json:"data"`
}

// v1Events are the events the build before counter.incremented v2 stored
// for two increments and a decrement of the global counter (written by
// es.Handler and eventstore at commit 79883dc, read back from the stream,
// less the headers the server adds on a read).
func v1Events(t *testing.T) []storedMessage {
	t.Helper()
	data, err := os.ReadFile("testdata/v1-events.json")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []storedMessage
	if err := json.Unmarshal(data, &msgs); err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestIncrementedV1PayloadsUpcastToOne(t *testing.T) {
	t.Parallel()
	reg := es.NewRegistry()
	Register(reg)
	for i, m := range v1Events(t) {
		env, err := eventstore.Decode(m.Subject, m.Headers, m.Data, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		e, err := es.DecodeAs[Event](reg, env)
		if err != nil {
			t.Fatalf("event %d (%s v%d %s): %v", i+1, env.Type, env.Version, env.Data, err)
		}
		want := map[string]Event{TypeIncremented: Incremented{By: 1}, TypeDecremented: Decremented{}}[env.Type]
		if env.Version != 1 || e != want {
			t.Errorf("event %d: %s v%d decodes to %#v, want %#v", i+1, env.Type, env.Version, e, want)
		}
	}
}

// TestACounterOfV1AndV2EventsFoldsProjectsAndRenders stores the v1 events
// as the old build did, then runs the current code on them: a command
// folds them and appends a v2 event after them, and the projection and
// the page show the value of all four.
func TestACounterOfV1AndV2EventsFoldsProjectsAndRenders(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	ctx := t.Context()
	store, err := eventstore.New(ctx, conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range v1Events(t) {
		if _, err := conn.JS.PublishMsg(ctx, &nats.Msg{Subject: m.Subject, Header: m.Headers, Data: m.Data}); err != nil {
			t.Fatal(err)
		}
	}
	reg := es.NewRegistry()
	Register(reg)
	global := es.StreamID{Aggregate: aggregate, ID: GlobalID}

	// The command side: 1 + 1 - 1 from v1, + 1 now.
	res, err := es.NewHandler(es.Storage{Store: store, Registry: reg}, Decider(), 1).
		Handle(ctx, global, Increment{}, es.Metadata{CommandID: "cmd-v2"})
	if err != nil {
		t.Fatal(err)
	}
	if res.State.Value != 2 || res.Version != 4 {
		t.Fatalf("after the v2 increment: value %d at version %d, want 2 at 4", res.State.Value, res.Version)
	}
	events, _, err := store.Load(ctx, global, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v2 := events[3]; v2.Type != TypeIncremented || v2.Version != 2 || string(v2.Data) != `{"by":1}` {
		t.Errorf("the new event is stored as %s v%d %s, want counter.incremented v2 {\"by\":1}", v2.Type, v2.Version, v2.Data)
	}

	// The read side: the projection over v1 and v2 events, and the page.
	runner, err := projection.Start(ctx, conn.JS, Projection(reg), projection.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Stop(context.Background())
	if err := runner.Wait(ctx, res.Version); err != nil {
		t.Fatal(err)
	}
	if parked, err := runner.Parked(ctx); err != nil || len(parked) != 0 {
		t.Fatalf("parked %v (%v): every event should apply", parked, err)
	}
	view, err := projection.OpenView[CounterView](ctx, conn.JS, ProjectionName)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := view.Get(ctx, GlobalID)
	if err != nil || entry.Value.Value != 2 {
		t.Fatalf("read model %+v (%v), want 2", entry.Value, err)
	}
	var page strings.Builder
	vm := viewModel(globalSlot, entry.Value.Value)
	if err := pages.Counter(layouts.Page{Title: "Counters", Path: "/counter"}, vm, viewModel(mineSlot, 0)).Render(ctx, &page); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), `<output class="counter-value" aria-live="polite">2</output>`) {
		t.Errorf("the page does not show the global counter at 2:\n%s", page.String())
	}
}
