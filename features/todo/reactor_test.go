package todo

import (
	"context"
	"crypto/rand"
	"log/slog"
	"slices"
	"testing"
	"time"

	"ironstar/es"
	"ironstar/es/estest"
	"ironstar/internal/poll"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
	"ironstar/nats/reactor"
)

func TestListCompletedIsDecidedOncePerCompletion(t *testing.T) {
	added := func(id string) Event { return Added{ID: id, Text: id} }
	estest.Run(t, Decider(), []tc{
		{Name: "a list whose todos are all completed is recorded as completed",
			Given: []Event{added("a"), added("b"), Completed{ID: "a"}, Completed{ID: "b"}}, When: RecordCompletion{}, Then: []Event{ListCompleted{}}},
		{Name: "marking all completed completes the list",
			Given: []Event{added("a"), added("b"), AllMarked{Completed: true}}, When: RecordCompletion{}, Then: []Event{ListCompleted{}}},
		{Name: "deleting the last open todo completes the list",
			Given: []Event{added("a"), added("b"), Completed{ID: "a"}, Deleted{ID: "b"}}, When: RecordCompletion{}, Then: []Event{ListCompleted{}}},
		{Name: "a completion is recorded once",
			Given: []Event{added("a"), Completed{ID: "a"}, ListCompleted{}}, When: RecordCompletion{}},
		{Name: "still completed after deleting a completed todo: recorded already",
			Given: []Event{added("a"), added("b"), AllMarked{Completed: true}, ListCompleted{}, Deleted{ID: "b"}}, When: RecordCompletion{}},
		{Name: "a list with an open todo is not completed",
			Given: []Event{added("a"), added("b"), Completed{ID: "a"}}, When: RecordCompletion{}},
		{Name: "an empty list is not completed", When: RecordCompletion{}},
		{Name: "a list emptied after its completion is not completed again",
			Given: []Event{added("a"), Completed{ID: "a"}, ListCompleted{}, CompletedCleared{}}, When: RecordCompletion{}},
		{Name: "reopened and completed again, it is completed again",
			Given: []Event{added("a"), Completed{ID: "a"}, ListCompleted{}, Reopened{ID: "a"}, Completed{ID: "a"}}, When: RecordCompletion{}, Then: []Event{ListCompleted{}}},
		{Name: "a todo added after the completion: completing it completes the list again",
			Given: []Event{added("a"), Completed{ID: "a"}, ListCompleted{}, added("b"), Completed{ID: "b"}}, When: RecordCompletion{}, Then: []Event{ListCompleted{}}},
	})
}

// TestListCompletionReactorRecordsEachCompletionOnce runs the reactor on
// real JetStream, completes lists, and delivers an event again as a crash
// would: each completion is stored once, its command ID is the reactor's
// key, and the read model shows it. It cannot tell which of the two
// guards kept the redelivery from storing a second completion: Decide
// records a completion once anyway, so a command ID other than the key
// would pass too. That a redelivery brings the same key is
// TestReactorRedeliveryAfterAnInstanceDiedBringsTheSameKey's
// (nats/reactor).
func TestListCompletionReactorRecordsEachCompletionOnce(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	ctx := t.Context()
	store, err := eventstore.New(ctx, conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg := es.NewRegistry()
	Register(reg)
	lists := NewLists(es.Storage{Store: store, Registry: reg})
	rx := ListCompletion(lists)
	runner, err := reactor.Start(ctx, conn.JS, rx, reactor.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Stop(context.Background())

	do := func(list string, cmds ...Command) {
		t.Helper()
		for _, c := range cmds {
			if _, err := lists.Handle(ctx, es.StreamID{Aggregate: Aggregate, ID: list}, c, es.Metadata{CommandID: rand.Text()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// reacted waits until the reactor has handled every event so far.
	reacted := func() {
		t.Helper()
		last, err := store.LastSequence(ctx)
		if err != nil {
			t.Fatal(err)
		}
		poll.Until(t, 10*time.Second, "the reactor to catch up", func() bool {
			st, err := runner.Status(ctx)
			return err == nil && st.Position >= last && st.Lag == 0
		})
	}
	types := func(list string) []string {
		t.Helper()
		var out []string
		for _, env := range events(t, store, list) {
			out = append(out, env.Type)
		}
		return out
	}
	count := func(list string) int {
		return len(slices.DeleteFunc(types(list), func(typ string) bool { return typ != TypeListCompleted }))
	}

	do("l1", Add{ID: "a", Text: "milk"}, Add{ID: "b", Text: "eggs"}, SetCompleted{ID: "a", Completed: true})
	do("l2", Add{ID: "a", Text: "tea"})
	reacted()
	if n := count("l1"); n != 0 {
		t.Fatalf("l1 has an open todo, yet %d list-completed events", n)
	}
	do("l1", SetCompleted{ID: "b", Completed: true})
	do("l2", SetAllCompleted{Completed: true})
	reacted()
	for _, list := range []string{"l1", "l2"} {
		if n := count(list); n != 1 {
			t.Errorf("%s: %d list-completed events, want 1: %v", list, n, types(list))
		}
	}

	// The event that completed l1, delivered again (its first delivery's
	// instance died before acknowledging it): a duplicate command, and a
	// completion already recorded.
	l1 := events(t, store, "l1")
	trigger := l1[len(l1)-2] // the completion, before the reactor's event
	if trigger.Type != TypeCompleted {
		t.Fatalf("l1's events: %v", types("l1"))
	}
	if err := rx.React(ctx, trigger, reactor.Key(rx.Name, trigger.Sequence)); err != nil {
		t.Fatal(err)
	}
	if n := count("l1"); n != 1 {
		t.Errorf("after a redelivery, l1 has %d list-completed events, want 1", n)
	}
	if id := l1[len(l1)-1].Meta.CommandID; id != reactor.Key(ListCompletionName, trigger.Sequence) {
		t.Errorf("the list-completed event's command ID is %q, want the reactor's key for event %d", id, trigger.Sequence)
	}

	// Reopened and completed again: a second completion.
	do("l1", SetCompleted{ID: "a"}, SetCompleted{ID: "a", Completed: true})
	reacted()
	if n := count("l1"); n != 2 {
		t.Errorf("l1 completed twice has %d list-completed events, want 2: %v", n, types("l1"))
	}
	// The read model shows it (the page's "All done!").
	p := Projection(reg)
	var view ListView
	for _, env := range events(t, store, "l1") {
		if view, err = p.Apply("l1", view, env); err != nil {
			t.Fatal(err)
		}
	}
	if !view.AllDone {
		t.Errorf("l1's read model %+v: not all done", view)
	}
}

// events loads a list's events.
func events(t *testing.T, store *eventstore.Store, list string) []es.Envelope {
	t.Helper()
	envs, _, err := store.Load(t.Context(), es.StreamID{Aggregate: Aggregate, ID: list}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return envs
}
