package eventstore_test

import (
	"reflect"
	"testing"
	"time"

	"ironstar/es"
)

func TestImportedEventsLoadAsAppendedOnesAndAreStoredOnce(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	a, b := es.StreamID{Aggregate: "todo", ID: "a"}, es.StreamID{Aggregate: "todo", ID: "b"}
	events := []es.Envelope{
		{ID: "i1", Stream: a, Type: "todo.added", Version: 1, Data: []byte(`{"ID":"t1"}`), Meta: es.Metadata{CommandID: "c1", Session: "s", OccurredAt: at}},
		{ID: "i2", Stream: b, Type: "todo.added", Version: 1, Data: []byte(`{"ID":"t1"}`), Meta: es.Metadata{CommandID: "c2", Session: "s", OccurredAt: at}},
		{ID: "i3", Stream: a, Type: "todo.completed", Version: 1, Data: []byte(`{"ID":"t1"}`), Meta: es.Metadata{CommandID: "c3", Session: "s", OccurredAt: at}},
	}
	for range 2 { // the second import finds every ID stored
		last, err := s.Import(t.Context(), events)
		if err != nil {
			t.Fatal(err)
		}
		if last != 3 {
			t.Errorf("last sequence %d, want 3", last)
		}
	}
	got, version, err := s.Load(t.Context(), a, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []es.Envelope{events[0], events[2]}
	want[0].Sequence, want[1].Sequence = 1, 3
	if version != 3 || !reflect.DeepEqual(got, want) {
		t.Errorf("Load = %+v at %d, want %+v at 3", got, version, want)
	}
}
