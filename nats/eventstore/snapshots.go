package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/es"
	"ironstar/nats/ensure"
)

// SnapshotBucket is the KV bucket holding the latest snapshot of each long
// aggregate, under the key <aggregate>.<id>.
const SnapshotBucket = "snapshots"

// Snapshots is the es.SnapshotStore on JetStream KV.
type Snapshots struct {
	kv jetstream.KeyValue
}

// NewSnapshots opens (or creates) the snapshot bucket.
func NewSnapshots(ctx context.Context, js jetstream.JetStream, replicas int) (*Snapshots, error) {
	kv, err := ensure.KeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: SnapshotBucket, Storage: jetstream.FileStorage, Replicas: max(replicas, 1), History: 1,
		Description: "latest snapshot of each long aggregate",
	})
	if err != nil {
		return nil, fmt.Errorf("eventstore: snapshot bucket: %w", err)
	}
	return &Snapshots{kv: kv}, nil
}

func snapshotKey(s es.StreamID) string { return s.Aggregate + "." + s.ID }

// LoadSnapshot implements es.SnapshotStore.
func (s *Snapshots) LoadSnapshot(ctx context.Context, stream es.StreamID) (es.Snapshot, bool, error) {
	if err := stream.Validate(); err != nil {
		return es.Snapshot{}, false, err
	}
	entry, err := s.kv.Get(ctx, snapshotKey(stream))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return es.Snapshot{}, false, nil
	}
	if err != nil {
		return es.Snapshot{}, false, fmt.Errorf("eventstore: load snapshot %s: %w", stream, err)
	}
	var snap es.Snapshot
	if err := json.Unmarshal(entry.Value(), &snap); err != nil {
		return es.Snapshot{}, false, fmt.Errorf("eventstore: decode snapshot %s: %w", stream, err)
	}
	return snap, true, nil
}

// SaveSnapshot implements es.SnapshotStore.
func (s *Snapshots) SaveSnapshot(ctx context.Context, stream es.StreamID, snap es.Snapshot) error {
	if err := stream.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, snapshotKey(stream), data); err != nil {
		return fmt.Errorf("eventstore: save snapshot %s: %w", stream, err)
	}
	return nil
}
