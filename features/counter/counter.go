// Package counter is the counter page: a global counter every visitor
// shares and one per session, both event-sourced, both pushed live to every
// open page. counter.go holds the pure domain.
package counter

import (
	"encoding/json"
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
	// Incremented: the counter went up by By. Schema version 2; version 1
	// had no fields and always meant one (see upcastIncrementedV1).
	Incremented struct {
		By int `json:"by"`
	}
	// Decremented: the counter went down by one.
	Decremented struct{}
)

func (Incremented) isEvent() {}
func (Decremented) isEvent() {}

// The event type names, stored with every event.
const (
	TypeIncremented = "counter.incremented"
	TypeDecremented = "counter.decremented"
)

// Register adds the counter's event types to a registry, with the upcaster
// that reads counter.incremented as stored by version 1.
func Register(r *es.Registry) {
	es.Register[Incremented](r, TypeIncremented, 2)
	r.Upcast(TypeIncremented, 1, upcastIncrementedV1)
	es.Register[Decremented](r, TypeDecremented, 1)
}

// upcastIncrementedV1 turns a counter.incremented of schema version 1 into
// version 2. Version 1 stored no payload ({}): an increment was always by
// one. Version 2 says by how much, so that a step other than one (a +10
// button, a batch) needs no new event type.
func upcastIncrementedV1(old json.RawMessage) (json.RawMessage, error) {
	var v1 struct{}
	if err := json.Unmarshal(old, &v1); err != nil {
		return nil, err
	}
	return json.Marshal(Incremented{By: 1})
}

// Decider is a counter's behaviour.
func Decider() es.Decider[Counter, Command, Event] {
	return es.Decider[Counter, Command, Event]{Decide: Decide, Evolve: Evolve}
}

// Decide applies the rules to a command.
func Decide(c Counter, cmd Command) ([]Event, error) {
	switch cmd.(type) {
	case Increment:
		return []Event{Incremented{By: 1}}, nil
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
	switch e := e.(type) {
	case Incremented:
		c.Value += e.By
	case Decremented:
		c.Value--
	}
	return c
}
