// Package sortable is the Sortable page: a Lit web component lets the user
// drag items into a new order, and each new order is a command, stored as
// an event per session. sortable.go holds the pure domain.
package sortable

import (
	"errors"
	"slices"

	"ironstar/es"
)

// Business rules of a board:
//
//   - A board starts with the DefaultOrder of the demo's items.
//   - A new order must hold exactly the board's items, each once.
//   - Reordering into the current order does nothing.
//
// So a board's stored size is fixed, whatever a visitor sends: its read
// model is always the five IDs of DefaultOrder (49 bytes as JSON), and an
// order with more, longer or escaped items is refused before anything is
// stored. (The todo list needs a byte bound of its own; a board does not.)

// DefaultOrder is a new board's order.
func DefaultOrder() []string { return []string{"plan", "design", "build", "test", "ship"} }

// ErrNotAPermutation is an order that adds, drops or repeats items.
var ErrNotAPermutation = errors.New("sortable: the order must hold each item exactly once")

// Board is a board's state.
type Board struct {
	Order []string
}

// Command and event types.
type (
	// Command is anything a board can be asked to do.
	Command interface{ isCommand() }
	// Reorder puts the items in a new order.
	Reorder struct{ Order []string }
	// Event is anything that happened to a board.
	Event interface{ isEvent() }
	// Reordered: the items were put in a new order.
	Reordered struct {
		Order []string `json:"order"`
	}
)

func (Reorder) isCommand() {}
func (Reordered) isEvent() {}

// Register adds the board's event types to a registry.
func Register(r *es.Registry) {
	es.Register[Reordered](r, "sortable.reordered", 1)
}

// Decider is a board's behaviour; a new board has the DefaultOrder.
func Decider() es.Decider[Board, Command, Event] {
	return es.Decider[Board, Command, Event]{Initial: Board{Order: DefaultOrder()}, Decide: Decide, Evolve: Evolve}
}

// Decide applies the rules to a command.
func Decide(b Board, c Command) ([]Event, error) {
	switch c := c.(type) {
	case Reorder:
		if !samePermutation(b.Order, c.Order) {
			return nil, ErrNotAPermutation
		}
		if slices.Equal(b.Order, c.Order) {
			return nil, nil
		}
		return []Event{Reordered{Order: slices.Clone(c.Order)}}, nil
	}
	return nil, errors.New("sortable: unknown command")
}

// Evolve applies an event.
func Evolve(b Board, e Event) Board {
	if e, ok := e.(Reordered); ok {
		return Board{Order: slices.Clone(e.Order)}
	}
	return b
}

func samePermutation(current, proposed []string) bool {
	if len(current) != len(proposed) {
		return false
	}
	a, b := slices.Clone(current), slices.Clone(proposed)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b) && len(slices.Compact(b)) == len(current)
}
