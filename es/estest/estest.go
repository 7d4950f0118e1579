// Package estest holds given/when/then helpers for testing deciders. A
// feature's decider test is one table; Run's example, compiled with the
// tests, declares the door it names:
//
//	estest.Run(t, Decider(), []estest.Case[Door, Command, Event]{
//		{Name: "a shut door opens", When: OpenDoor{}, Then: []Event{Opened{}}},
//		{Name: "an open door is refused", Given: []Event{Opened{}}, When: OpenDoor{}, Err: ErrAlreadyOpen},
//	})
package estest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"ironstar/es"
)

// Case is one rule: given prior events, when a command, then these events
// (or this error, compared with errors.Is).
type Case[S, C, E any] struct {
	Name  string
	Given []E
	When  C
	Then  []E
	Err   error
}

// Run runs every case as a parallel subtest. Besides the expected outcome,
// it checks that Decide is deterministic (the same history and command give
// the same result twice), which catches a hidden clock or random source;
// that the state survives the JSON round trip of a snapshot (every
// es.Handler snapshots its aggregates), which catches an unexported field;
// and that Decide and Evolve leave the state they are given as it was (an
// es.Handler remembers states and decides on them again), which catches a
// slice or map changed in place.
func Run[S, C, E any](t *testing.T, d es.Decider[S, C, E], cases []Case[S, C, E]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			got, err := d.Decide(d.Fold(tc.Given...), tc.When)
			if msg := Check(got, err, tc.Then, tc.Err); msg != "" {
				t.Errorf("given %s\nwhen %#v\n%s", describe(tc.Given), tc.When, msg)
			}
			again, errAgain := d.Decide(d.Fold(tc.Given...), tc.When)
			if !reflect.DeepEqual(got, again) || fmt.Sprint(err) != fmt.Sprint(errAgain) {
				t.Errorf("Decide is not deterministic: %#v, %v then %#v, %v", got, err, again, errAgain)
			}
			if msg := roundTrip(d.Fold(tc.Given...)); msg != "" {
				t.Errorf("given %s\n%s", describe(tc.Given), msg)
			}
			if msg := untouched(d, tc.Given, tc.When, tc.Then); msg != "" {
				t.Errorf("given %s\nwhen %#v\n%s", describe(tc.Given), tc.When, msg)
			}
		})
	}
}

// roundTrip describes how a state differs after the JSON round trip a
// snapshot makes, or returns "" when it does not.
func roundTrip[S any](state S) string {
	data, err := json.Marshal(state)
	if err != nil {
		return fmt.Sprintf("the state %#v cannot be snapshotted: %v", state, err)
	}
	var back S
	if err := json.Unmarshal(data, &back); err != nil {
		return fmt.Sprintf("the snapshot %s cannot be read back: %v", data, err)
	}
	if !reflect.DeepEqual(state, back) {
		return fmt.Sprintf("the state does not survive a snapshot (JSON round trip; unexported fields?):\n%#v\nbecame %#v", state, back)
	}
	return ""
}

// untouched describes how deciding and evolving changed the state they
// were given (and the initial state, which every aggregate starts from),
// or returns "" when they did not: after each given event, the state
// before it, and after them the state the command is decided on and each
// then event applied to, must read as it did before.
func untouched[S, C, E any](d es.Decider[S, C, E], given []E, when C, then []E) string {
	initial := fmt.Sprintf("%#v", d.Initial)
	state := d.Fold()
	for _, e := range given {
		before := fmt.Sprintf("%#v", state)
		next := d.Evolve(state, e)
		if after := fmt.Sprintf("%#v", state); after != before {
			return fmt.Sprintf("Evolve(%#v) changed the state it was given:\n%s\nbecame %s", e, before, after)
		}
		state = next
	}
	before := fmt.Sprintf("%#v", state)
	d.Decide(state, when)
	if after := fmt.Sprintf("%#v", state); after != before {
		return fmt.Sprintf("Decide changed the state it was given:\n%s\nbecame %s", before, after)
	}
	for _, e := range then {
		d.Evolve(state, e)
		if after := fmt.Sprintf("%#v", state); after != before {
			return fmt.Sprintf("Evolve(%#v) changed the state it was given:\n%s\nbecame %s", e, before, after)
		}
	}
	if after := fmt.Sprintf("%#v", d.Initial); after != initial {
		return fmt.Sprintf("the initial state changed:\n%s\nbecame %s", initial, after)
	}
	return ""
}

// Check compares an outcome with the expected one and describes the
// difference, or returns "" when they match.
func Check[E any](got []E, err error, want []E, wantErr error) string {
	switch {
	case wantErr != nil && !errors.Is(err, wantErr):
		return fmt.Sprintf("then error %v\ngot %v and events %s", wantErr, err, describe(got))
	case wantErr == nil && err != nil:
		return fmt.Sprintf("then events %s\ngot error %v", describe(want), err)
	case wantErr == nil && !sameEvents(got, want):
		return fmt.Sprintf("then events %s\ngot        %s", describe(want), describe(got))
	}
	return ""
}

func sameEvents[E any](a, b []E) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func describe[E any](events []E) string {
	if len(events) == 0 {
		return "(no events)"
	}
	s := ""
	for i, e := range events {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%#v", e)
	}
	return s
}
