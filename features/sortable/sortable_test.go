package sortable

import (
	"strings"
	"testing"

	"ironstar/es/estest"
)

func TestDecide(t *testing.T) {
	reversed := []string{"ship", "test", "build", "design", "plan"}
	// What a visitor could send to grow a board's read model.
	bloated := append(DefaultOrder(), strings.Repeat("<", 10_000))
	var repeated []string
	for range 1000 {
		repeated = append(repeated, DefaultOrder()...)
	}
	estest.Run(t, Decider(), []estest.Case[Board, Command, Event]{
		{Name: "reordering a new board", When: Reorder{Order: reversed}, Then: []Event{Reordered{Order: reversed}}},
		{Name: "reordering into the same order does nothing", When: Reorder{Order: DefaultOrder()}},
		{Name: "reordering after a reorder", Given: []Event{Reordered{Order: reversed}}, When: Reorder{Order: DefaultOrder()}, Then: []Event{Reordered{Order: DefaultOrder()}}},
		{Name: "an item dropped is refused", When: Reorder{Order: []string{"plan", "design", "build", "test"}}, Err: ErrNotAPermutation},
		{Name: "an item repeated is refused", When: Reorder{Order: []string{"plan", "plan", "build", "test", "ship"}}, Err: ErrNotAPermutation},
		{Name: "an unknown item is refused", When: Reorder{Order: []string{"plan", "design", "build", "test", "party"}}, Err: ErrNotAPermutation},
		{Name: "no order is refused", When: Reorder{}, Err: ErrNotAPermutation},
		{Name: "a longer order of long, escaped items is refused", When: Reorder{Order: bloated}, Err: ErrNotAPermutation},
		{Name: "the items repeated many times are refused", When: Reorder{Order: repeated}, Err: ErrNotAPermutation},
	})
}
