package todo

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"ironstar/es"
	"ironstar/features/todo/components"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
	"ironstar/nats/projection"
	"ironstar/sse"
)

// TestHubRendersEachChangeOncePerFilter opens many streams on one list and
// checks that a change reaches all of them as the very same bytes.
func TestHubRendersEachChangeOncePerFilter(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	ctx := t.Context()
	logger := slog.New(slog.DiscardHandler)
	store, err := eventstore.New(ctx, conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	snapshots, err := eventstore.NewSnapshots(ctx, conn.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	reg := es.NewRegistry()
	Register(reg)
	runner, err := projection.Start(ctx, conn.JS, Projection(reg), projection.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Stop(context.Background())
	view, err := projection.OpenView[ListView](ctx, conn.JS, ProjectionName)
	if err != nil {
		t.Fatal(err)
	}
	h := &handlers{logger: logger}
	hub := sse.NewHub(view.Watch, h.render)
	lists := es.NewHandler(es.Storage{Store: store, Snapshots: snapshots, Registry: reg}, Decider(), listSchema)

	const streams = 50
	subs := make([]<-chan sse.Frame, 0, streams+1)
	for range streams {
		ch, err := hub.Subscribe(ctx, "list1", components.All)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, ch)
	}
	active, err := hub.Subscribe(ctx, "list1", components.Active)
	if err != nil {
		t.Fatal(err)
	}
	// Everyone first gets the current state: an empty list, no sequence.
	for i, ch := range append(subs, active) {
		if f := receive(t, ch); f.Seq != 0 {
			t.Fatalf("stream %d: first frame at %d, want the empty list", i, f.Seq)
		}
	}

	res, err := lists.Handle(ctx, es.StreamID{Aggregate: Aggregate, ID: "list1"}, Add{ID: "a1", Text: "<b>milk</b>"}, es.Metadata{CommandID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	first := receive(t, subs[0])
	if first.Seq != res.Version || !strings.Contains(string(first.Data), "id: "+strconv.FormatUint(res.Version, 10)+"\n") {
		t.Fatalf("frame at %d (%q), want the event's sequence %d as its id", first.Seq, first.Data, res.Version)
	}
	if !strings.Contains(string(first.Data), "&lt;b&gt;milk&lt;/b&gt;") {
		t.Errorf("the frame does not carry the escaped text: %s", first.Data)
	}
	for i, ch := range subs[1:] {
		f := receive(t, ch)
		if &f.Data[0] != &first.Data[0] {
			t.Fatalf("stream %d got its own rendering: want one rendering shared by all", i+1)
		}
	}
	if f := receive(t, active); &f.Data[0] == &first.Data[0] || f.Seq != res.Version {
		t.Errorf("the Active filter must have its own rendering at the same sequence")
	}
}

func receive(t *testing.T, ch <-chan sse.Frame) sse.Frame {
	t.Helper()
	select {
	case f, ok := <-ch:
		if !ok {
			t.Fatal("stream closed")
		}
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame within 10s")
	}
	return sse.Frame{}
}
