package estest

import (
	"slices"
	"strings"
	"testing"

	"ironstar/es"
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

func TestUntouchedCatchesAStateChangedInPlace(t *testing.T) {
	t.Parallel()
	type board struct{ Order []string }
	type swap struct{ I, J int }
	decider := func(evolve func(board, swap) board) es.Decider[board, swap, swap] {
		return es.Decider[board, swap, swap]{
			Initial: board{Order: []string{"a", "b", "c"}},
			Decide:  func(_ board, c swap) ([]swap, error) { return []swap{c}, nil },
			Evolve:  evolve,
		}
	}
	inPlace := decider(func(b board, e swap) board {
		b.Order[e.I], b.Order[e.J] = b.Order[e.J], b.Order[e.I]
		return b
	})
	copied := decider(func(b board, e swap) board {
		order := slices.Clone(b.Order)
		order[e.I], order[e.J] = order[e.J], order[e.I]
		return board{Order: order}
	})
	given, then := []swap{{0, 1}}, []swap{{1, 2}}
	if msg := untouched(copied, given, swap{1, 2}, then); msg != "" {
		t.Errorf("an Evolve that copies: %s", msg)
	}
	if msg := untouched(inPlace, given, swap{1, 2}, then); !strings.Contains(msg, "changed the state it was given") {
		t.Errorf("an Evolve that swaps in place: %q; want it caught", msg)
	}
	if msg := untouched(inPlace, nil, swap{1, 2}, then); !strings.Contains(msg, "changed the state it was given") {
		t.Errorf("an Evolve that swaps the initial state's order in place: %q; want it caught", msg)
	}
}
