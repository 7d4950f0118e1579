package projection_test

import (
	"testing"

	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
)

// Each runner caches the values it wrote. When the pin moves back to a
// runner whose cache the other has since made stale, its compare-and-set
// fails, and it reads the values again: nothing is lost or applied twice.
func TestThePinMovingBackAndForthLeavesNoStaleValue(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	store, err := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	nc2, js2, err := conn.NewClient("instance-b")
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	a := start(t, conn.JS, tallyProjection("pin"))
	start(t, js2, tallyProjection("pin"))
	stream, err := conn.JS.Stream(t.Context(), eventstore.StreamName)
	if err != nil {
		t.Fatal(err)
	}

	w := newWriter(store, "k")
	for range 12 {
		// Every round writes every key; then whichever runner pulls
		// first is pinned for the next.
		waitFor(t, a, w.add(t, 40, 4))
		if err := stream.UnpinConsumer(t.Context(), "proj_pin_1", "apply"); err != nil {
			t.Fatal(err)
		}
	}
	got := values(t, conn.JS, "pin")
	same(t, got, fold(t, store))
	for k, v := range got {
		if v.Count != 120 {
			t.Errorf("%s applied %d events, want 120 (each exactly once)", k, v.Count)
		}
	}
}
