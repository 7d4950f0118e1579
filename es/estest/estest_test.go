package estest

import (
	"strings"
	"testing"
)

func TestRoundTripCatchesAStateASnapshotWouldLose(t *testing.T) {
	t.Parallel()
	type exported struct {
		Value int
		Items []string
	}
	type hidden struct {
		Value int
		items []string
	}
	if msg := roundTrip(exported{Value: 3, Items: []string{"a"}}); msg != "" {
		t.Errorf("an exported state: %s", msg)
	}
	if msg := roundTrip(hidden{Value: 3, items: []string{"a"}}); !strings.Contains(msg, "does not survive a snapshot") {
		t.Errorf("a state with an unexported field: %q; want it refused", msg)
	}
}
