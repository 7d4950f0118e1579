// Package counter is the counter page: a global counter every visitor
// shares and one per session, both event-sourced, both pushed live to every
// open page. counter.go holds the pure domain.
package counter

import (
	"errors"

	"ironstar/es"
)

// Business rules of a counter:
//
//   - Increment adds one; Decrement takes one away.
//   - A counter never goes below zero: decrementing zero is refused.

// ErrBelowZero is a decrement of a counter at zero.
var ErrBelowZero = errors.New("counter: cannot go below zero")

// Counter is a counter's state.
type Counter struct {
	Value int
}

// Commands.
type (
	// Command is anything a counter can be asked to do.
	Command interface{ isCommand() }
	// Increment adds one.
	Increment struct{}
	// Decrement takes one away.
	Decrement struct{}
)

func (Increment) isCommand() {}
func (Decrement) isCommand() {}

// Events.
type (
	// Event is anything that happened to a counter.
	Event interface{ isEvent() }
	// Incremented: the counter went up by one.
	Incremented struct{}
	// Decremented: the counter went down by one.
	Decremented struct{}
)

func (Incremented) isEvent() {}
func (Decremented) isEvent() {}

// Register adds the counter's event types to a registry.
func Register(r *es.Registry) {
	es.Register[Incremented](r, "counter.incremented", 1)
	es.Register[Decremented](r, "counter.decremented", 1)
}

// Decider is a counter's behaviour.
func Decider() es.Decider[Counter, Command, Event] {
	return es.Decider[Counter, Command, Event]{Decide: Decide, Evolve: Evolve}
}

// Decide applies the rules to a command.
func Decide(c Counter, cmd Command) ([]Event, error) {
	switch cmd.(type) {
	case Increment:
		return []Event{Incremented{}}, nil
	case Decrement:
		if c.Value == 0 {
			return nil, ErrBelowZero
		}
		return []Event{Decremented{}}, nil
	}
	return nil, errors.New("counter: unknown command")
}

// Evolve applies an event.
func Evolve(c Counter, e Event) Counter {
	switch e.(type) {
	case Incremented:
		c.Value++
	case Decremented:
		c.Value--
	}
	return c
}
