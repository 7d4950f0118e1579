package counter

import (
	"testing"

	"ironstar/es/estest"
)

func TestDecide(t *testing.T) {
	estest.Run(t, Decider(), []estest.Case[Counter, Command, Event]{
		{Name: "incrementing a new counter", When: Increment{}, Then: []Event{Incremented{}}},
		{Name: "incrementing again", Given: []Event{Incremented{}, Incremented{}}, When: Increment{}, Then: []Event{Incremented{}}},
		{Name: "decrementing a positive counter", Given: []Event{Incremented{}}, When: Decrement{}, Then: []Event{Decremented{}}},
		{Name: "decrementing zero is refused", When: Decrement{}, Err: ErrBelowZero},
		{Name: "back at zero, decrementing is refused", Given: []Event{Incremented{}, Decremented{}}, When: Decrement{}, Err: ErrBelowZero},
	})
}

func TestEvolve(t *testing.T) {
	t.Parallel()
	if got := Decider().Fold(Incremented{}, Incremented{}, Decremented{}, Incremented{}); got.Value != 2 {
		t.Errorf("value = %d, want 2", got.Value)
	}
}
