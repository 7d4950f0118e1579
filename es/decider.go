package es

// Decider is an aggregate's behaviour as three pure parts, with S the
// state, C the commands and E the events (usually an interface that the
// aggregate's event types implement):
//
//   - Initial is the state before any event.
//   - Decide turns the current state and a command into new events, or an
//     error when a business rule forbids the command. It must not change state.
//   - Evolve applies one event to a state and returns the next state. It must
//     not fail: events are facts that already happened.
//
// Time and IDs arrive inside commands, so both functions stay deterministic.
type Decider[S, C, E any] struct {
	Initial S
	Decide  func(state S, cmd C) ([]E, error)
	Evolve  func(state S, event E) S
}

// Fold applies events in order to the initial state.
func (d Decider[S, C, E]) Fold(events ...E) S {
	state := d.Initial
	for _, e := range events {
		state = d.Evolve(state, e)
	}
	return state
}
