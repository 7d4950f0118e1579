// Package memstore is an in-memory es.Store for fast tests of deciders and
// handlers. It passes the same contract suite (es/storetest) as the
// JetStream store, so what holds here holds there.
package memstore

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"ironstar/es"
)

// Store keeps every event in one ordered slice, like a stream.
type Store struct {
	mu     sync.Mutex
	events []es.Envelope
	ids    map[string]uint64 // event ID → sequence
}

// New returns an empty store.
func New() *Store { return &Store{ids: map[string]uint64{}} }

// Load implements es.Store.
func (s *Store) Load(ctx context.Context, stream es.StreamID, after uint64) ([]es.Envelope, uint64, error) {
	if err := stream.Validate(); err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []es.Envelope
	version := after
	for _, e := range s.events {
		if e.Stream == stream && e.Sequence > after {
			out = append(out, e)
			version = e.Sequence
		}
	}
	return out, version, nil
}

// Append implements es.Store.
func (s *Store) Append(ctx context.Context, stream es.StreamID, expected uint64, events []es.Envelope) (uint64, error) {
	if err := stream.Validate(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Like JetStream's duplicate window: a batch already stored is
	// acknowledged with its old position instead of stored again, unless
	// it was stored after the expected version, which is then outdated.
	if len(events) > 0 {
		if seq, dup := s.ids[events[0].ID]; dup && seq <= expected {
			return seq + uint64(len(events)) - 1, nil
		}
	}
	if current := s.version(stream); current != expected {
		return 0, fmt.Errorf("%w: %s is at %d, expected %d", es.ErrConcurrency, stream, current, expected)
	}
	for _, e := range events {
		e.Stream = stream
		e.Sequence = uint64(len(s.events)) + 1
		e.Data = slices.Clone(e.Data)
		s.events = append(s.events, e)
		s.ids[e.ID] = e.Sequence
	}
	return s.version(stream), nil
}

// ReadAfter returns up to limit events of any aggregate whose Sequence is
// above after, in order. Fewer than limit means the end was reached.
func (s *Store) ReadAfter(ctx context.Context, after uint64, limit int) ([]es.Envelope, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if after >= uint64(len(s.events)) {
		return nil, nil
	}
	end := min(uint64(len(s.events)), after+uint64(limit))
	return slices.Clone(s.events[after:end]), nil
}

func (s *Store) version(stream es.StreamID) uint64 {
	for i := len(s.events) - 1; i >= 0; i-- {
		if s.events[i].Stream == stream {
			return s.events[i].Sequence
		}
	}
	return 0
}

// Snapshots is an in-memory es.SnapshotStore.
type Snapshots struct {
	mu    sync.Mutex
	snaps map[es.StreamID]es.Snapshot
}

// NewSnapshots returns an empty snapshot store.
func NewSnapshots() *Snapshots { return &Snapshots{snaps: map[es.StreamID]es.Snapshot{}} }

// LoadSnapshot implements es.SnapshotStore.
func (s *Snapshots) LoadSnapshot(ctx context.Context, stream es.StreamID) (es.Snapshot, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, ok := s.snaps[stream]
	snap.State = slices.Clone(snap.State)
	snap.Commands = slices.Clone(snap.Commands)
	return snap, ok, nil
}

// SaveSnapshot implements es.SnapshotStore.
func (s *Snapshots) SaveSnapshot(ctx context.Context, stream es.StreamID, snap es.Snapshot) error {
	if err := stream.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	snap.State = slices.Clone(snap.State)
	snap.Commands = slices.Clone(snap.Commands)
	s.snaps[stream] = snap
	return nil
}
