package estest_test

import (
	"errors"
	"testing"

	"ironstar/es"
	"ironstar/es/estest"
)

// Door is the state of a door, the smallest aggregate with a rule.
type Door struct{ Open bool }

// Command is what can be asked of a door.
type Command interface{ doorCommand() }

// OpenDoor asks to open the door.
type OpenDoor struct{}

func (OpenDoor) doorCommand() {}

// Event is what happened to a door.
type Event interface{ doorEvent() }

// Opened says the door was opened.
type Opened struct{}

func (Opened) doorEvent() {}

// ErrAlreadyOpen refuses to open an open door.
var ErrAlreadyOpen = errors.New("door: already open")

// Decider is the door's rules.
func Decider() es.Decider[Door, Command, Event] {
	return es.Decider[Door, Command, Event]{
		Decide: func(d Door, _ Command) ([]Event, error) {
			if d.Open {
				return nil, ErrAlreadyOpen
			}
			return []Event{Opened{}}, nil
		},
		Evolve: func(Door, Event) Door { return Door{Open: true} },
	}
}

// A feature's decider test is one call to Run with a table of rules, in
// the feature's _test.go file; here the door's. An example is not handed a
// *testing.T, so this one is compiled but not run.
func ExampleRun() {
	testDecide := func(t *testing.T) {
		estest.Run(t, Decider(), []estest.Case[Door, Command, Event]{
			{Name: "a shut door opens", When: OpenDoor{}, Then: []Event{Opened{}}},
			{Name: "an open door is refused", Given: []Event{Opened{}}, When: OpenDoor{}, Err: ErrAlreadyOpen},
		})
	}
	_ = testDecide
}
