package feature

import (
	"fmt"

	"github.com/a-h/templ"

	"ironstar/es"
)

// History teaches the time-travel page (features/history) one aggregate
// type of a feature: how to fold its events into a state and, optionally,
// how to draw that state. A feature lists one per aggregate type in
// Feature.History; HistoryOf builds one from the feature's Decider.
type History struct {
	// Aggregate is the aggregate type (es.StreamID.Aggregate).
	Aggregate string
	// Replay folds events, an aggregate's own from its first, oldest
	// first, with the app's registry, into the state after the last of
	// them, drawn with the last as the change that led there. It fails on
	// an event that does not decode, as a command would.
	Replay func(reg *es.Registry, events []es.Envelope) (Point, error)
}

// Point is an aggregate as it was after one of its events.
type Point struct {
	// State is the folded state: the page shows it as JSON when View is
	// nil.
	State any
	// View draws the state; nil when the feature gives no renderer.
	View templ.Component
}

// HistoryOf is the History of an aggregate type that d decides: Replay
// folds with d.Evolve, as a command's load does, and render (nil for the
// JSON view) draws the state after the selected event from the state
// before it, the state after it and the event itself, so that it can show
// what the event changed (an item removed is only in before).
func HistoryOf[S, C, E any](aggregate string, d es.Decider[S, C, E], render func(before, after S, changed E) templ.Component) History {
	return History{
		Aggregate: aggregate,
		Replay: func(reg *es.Registry, events []es.Envelope) (Point, error) {
			before, after := d.Initial, d.Initial
			var last E
			for _, env := range events {
				e, err := es.DecodeAs[E](reg, env)
				if err != nil {
					return Point{}, fmt.Errorf("%w: %s at sequence %d: %w", es.ErrUndecodable, env.Stream, env.Sequence, err)
				}
				before, after, last = after, d.Evolve(after, e), e
			}
			p := Point{State: after}
			if render != nil && len(events) > 0 {
				p.View = render(before, after, last)
			}
			return p, nil
		},
	}
}

// Histories collects the History of every feature, for the time-travel
// page.
func Histories(features []Feature) []History {
	var all []History
	for _, f := range features {
		all = append(all, f.History...)
	}
	return all
}
