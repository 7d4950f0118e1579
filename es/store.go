package es

import "context"

// Store is where events live. nats/eventstore is the JetStream store;
// es/memstore is an in-memory one for fast tests. Both pass the contract
// suite in es/storetest.
type Store interface {
	// Load returns the aggregate's events in order and its version: the
	// Sequence of its last event, or 0 when it has none.
	Load(ctx context.Context, stream StreamID) ([]Envelope, uint64, error)
	// Append stores events (all of them or none) if the aggregate's version
	// is still expected, and returns the new version. Otherwise it returns
	// ErrConcurrency and stores nothing. An event whose ID is already stored
	// is not stored again.
	Append(ctx context.Context, stream StreamID, expected uint64, events []Envelope) (uint64, error)
}

// Reader reads the whole store in order: what projections, SSE catch-up and
// replays use.
type Reader interface {
	// ReadAfter returns up to limit events whose Sequence is above after,
	// in order. Fewer than limit means the end was reached.
	ReadAfter(ctx context.Context, after uint64, limit int) ([]Envelope, error)
}
