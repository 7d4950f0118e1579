package sortable

import (
	"testing"

	"ironstar/es/estest"
)

func TestDecide(t *testing.T) {
	reversed := []string{"ship", "test", "build", "design", "plan"}
	estest.Run(t, Decider(), []estest.Case[Board, Command, Event]{
		{Name: "reordering a new board", When: Reorder{Order: reversed}, Then: []Event{Reordered{Order: reversed}}},
		{Name: "reordering into the same order does nothing", When: Reorder{Order: DefaultOrder()}},
		{Name: "reordering after a reorder", Given: []Event{Reordered{Order: reversed}}, When: Reorder{Order: DefaultOrder()}, Then: []Event{Reordered{Order: DefaultOrder()}}},
		{Name: "an item dropped is refused", When: Reorder{Order: []string{"plan", "design", "build", "test"}}, Err: ErrNotAPermutation},
		{Name: "an item repeated is refused", When: Reorder{Order: []string{"plan", "plan", "build", "test", "ship"}}, Err: ErrNotAPermutation},
		{Name: "an unknown item is refused", When: Reorder{Order: []string{"plan", "design", "build", "test", "party"}}, Err: ErrNotAPermutation},
		{Name: "no order is refused", When: Reorder{}, Err: ErrNotAPermutation},
	})
}
