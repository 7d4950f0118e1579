package counter

import (
	"testing"

	"ironstar/es/estest"
)

func TestDecide(t *testing.T) {
	estest.Run(t, Decider(), []estest.Case[Counter, Command, Event]{
		{Name: "incrementing a new counter", When: Increment{}, Then: []Event{Incremented{By: 1}}},
		{Name: "incrementing again", Given: []Event{Incremented{By: 1}, Incremented{By: 1}}, When: Increment{}, Then: []Event{Incremented{By: 1}}},
		{Name: "decrementing a positive counter", Given: []Event{Incremented{By: 1}}, When: Decrement{}, Then: []Event{Decremented{}}},
		{Name: "decrementing zero is refused", When: Decrement{}, Err: ErrBelowZero},
		{Name: "back at zero, decrementing is refused", Given: []Event{Incremented{By: 1}, Decremented{}}, When: Decrement{}, Err: ErrBelowZero},
	})
}

func TestEvolve(t *testing.T) {
	t.Parallel()
	if got := Decider().Fold(Incremented{By: 1}, Incremented{By: 5}, Decremented{}, Incremented{By: 1}); got.Value != 6 {
		t.Errorf("value = %d, want 6", got.Value)
	}
}
