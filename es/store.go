package es

import (
	"context"
	"encoding/json"
)

// Store is where events live. nats/eventstore is the JetStream store;
// es/memstore is an in-memory one for fast tests. Both pass the contract
// suite in es/storetest.
type Store interface {
	// Load returns the aggregate's events with a Sequence above after, in
	// order, and its version: the Sequence of its last event, or after when
	// none is newer (0 for an aggregate with no events). after is 0 for a
	// full load, or a snapshot's version.
	Load(ctx context.Context, stream StreamID, after uint64) ([]Envelope, uint64, error)
	// Append stores events (all of them or none) if the aggregate's version
	// is still expected, and returns the new version. Otherwise it returns
	// ErrConcurrency and stores nothing. An event whose ID is already stored
	// is not stored again.
	Append(ctx context.Context, stream StreamID, expected uint64, events []Envelope) (uint64, error)
}

// Snapshot is an aggregate's folded state at a version, so that a load can
// start there instead of at its first event.
type Snapshot struct {
	// Version is the Sequence of the last event folded into State.
	Version uint64 `json:"version"`
	// Schema is the Handler.SnapshotSchema the state was written with.
	Schema int `json:"schema"`
	// State is the aggregate's state as JSON.
	State json.RawMessage `json:"state"`
	// Commands are the IDs of the latest commands folded in, newest last.
	Commands []string `json:"commands,omitempty"`
}

// SnapshotStore keeps the latest snapshot of each aggregate.
type SnapshotStore interface {
	// LoadSnapshot returns the aggregate's snapshot, if it has one.
	LoadSnapshot(ctx context.Context, stream StreamID) (Snapshot, bool, error)
	// SaveSnapshot replaces the aggregate's snapshot.
	SaveSnapshot(ctx context.Context, stream StreamID, snap Snapshot) error
}
