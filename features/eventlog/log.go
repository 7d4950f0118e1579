// Package eventlog is the event log, an operator page: every event stored,
// newest first, filtered by aggregate type, aggregate ID and event type,
// paged backwards through history, and kept current by a stream of the
// replay kind. Each frame of that stream carries new events and has the
// sequence of the last as its SSE id; a browser that reconnects with
// Last-Event-ID: N gets exactly the events after N that match its filter,
// in order, once each (one ordered JetStream consumer replays them and
// then follows the store), so a dropped connection or a restarted server
// loses nothing and repeats nothing.
package eventlog

import (
	"context"
	"slices"

	"ironstar/es"
)

// store is what the event log reads: windows of the log for paging back,
// and a replay-then-follow for the stream (eventstore.Store does both).
type store interface {
	ReadBetween(ctx context.Context, subject string, after, before uint64) ([]es.Envelope, error)
	Follow(ctx context.Context, after uint64, fn func(es.Envelope) error, subjects ...string) error
	LastSequence(ctx context.Context) (uint64, error)
}

// pageSize is how many events one page of the log shows.
const pageSize = 50

// The work one page may cost, whatever the filter: the store reads
// windows of scanWindow sequences back from the page's end, at most
// scanWindows of them and at most scanEvents events in all. A filter that
// matches rarely may fill less than a page within that; the page then
// ends at the lowest sequence scanned, and the next page goes on from it.
const (
	scanWindow  = 1000
	scanWindows = 100
	scanEvents  = 10_000
)

// page is one page of the log.
type page struct {
	// Events are the page's events, newest first.
	Events []es.Envelope
	// Next is where the next older page ends (its before): the oldest
	// event's sequence when the page is full, else the lowest sequence
	// scanned. 0 means the page reached the start of the log.
	Next uint64
}

// readPage reads up to size events that match f and were stored before
// the sequence before, newest first, reading windows of the log backwards
// (the store reads forwards only) within the bounds above.
func readPage(ctx context.Context, s store, f Filter, before uint64, size int) (page, error) {
	var p page
	read := 0
	low := before // everything from low up to before is scanned
	for windows := 0; low > 1 && len(p.Events) < size && windows < scanWindows && read < scanEvents; windows++ {
		from := low - min(scanWindow, low-1)
		events, err := s.ReadBetween(ctx, f.Subject(), from-1, low)
		if err != nil {
			return page{}, err
		}
		read += len(events)
		low = from
		for _, e := range slices.Backward(events) {
			if !f.Matches(e) {
				continue
			}
			p.Events = append(p.Events, e)
			if len(p.Events) == size {
				p.Next = e.Sequence
				return p, nil
			}
		}
	}
	if low > 1 {
		p.Next = low
	}
	return p, nil
}
