// Package history is time travel, an operator feature: one aggregate's
// events, and its state after any of them (fold up to N), with a slider
// over its history, at /history/{aggregate}/{id}?at={seq}. A feature
// teaches it an aggregate type with feature.History (feature.HistoryOf);
// a type no feature lists has no history here.
package history

import (
	"errors"
	"fmt"
	"sort"

	"ironstar/es"
	"ironstar/features/feature"
)

// Errors a history request can meet.
var (
	errUnknownAggregate = errors.New("history: no feature draws this aggregate type")
	errNoEvents         = errors.New("history: the aggregate has no events")
	errBeforeFirst      = errors.New("history: the sequence is before the aggregate's first event")
	errBadPosition      = errors.New("history: not a position in the aggregate's history")
)

// timeline is one aggregate's events, oldest first, with the History that
// folds them.
type timeline struct {
	stream es.StreamID
	events []es.Envelope
	hist   feature.History
}

// positionAt is the position (1 for the first event) of the last event
// stored at or before sequence n: the aggregate as it was when the store
// reached n, whichever aggregate n belongs to.
func (t timeline) positionAt(n uint64) (int, error) {
	if len(t.events) == 0 {
		return 0, fmt.Errorf("%w: %s", errNoEvents, t.stream)
	}
	pos := sort.Search(len(t.events), func(i int) bool { return t.events[i].Sequence > n })
	if pos == 0 {
		return 0, fmt.Errorf("%w: %d (%s starts at %d)", errBeforeFirst, n, t.stream, t.events[0].Sequence)
	}
	return pos, nil
}

// at folds the aggregate's events up to position pos (1..len(events)).
func (t timeline) at(reg *es.Registry, pos int) (feature.Point, error) {
	if pos < 1 || pos > len(t.events) {
		return feature.Point{}, fmt.Errorf("%w: %d of %d", errBadPosition, pos, len(t.events))
	}
	return t.hist.Replay(reg, t.events[:pos])
}
