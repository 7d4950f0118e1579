package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"ironstar/es"
)

// Follower is where the projection reads events: everything after a
// sequence, then live (nats/eventstore.Store.Follow).
type Follower interface {
	Follow(ctx context.Context, after uint64, fn func(es.Envelope) error, subjects ...string) error
}

// flushEvery is how often appended rows are flushed: the freshness of the
// dashboard, and the batch size of a replay.
const flushEvery = 200 * time.Millisecond

// Projection copies every event into the DuckDB store. Its checkpoint is
// the highest sequence in the table, so a restart resumes there and a
// deleted DuckDB file is rebuilt from the stream. Each process has its own
// file, so every instance runs its own copy (an OLAP replica per process).
type Projection struct {
	Store  *Store
	Events Follower
	// Changed, if set, is called after each flush that added rows.
	Changed func()
	Logger  *slog.Logger
}

// Run copies events until ctx ends, retrying after failures.
func (p Projection) Run(ctx context.Context) {
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		tick := time.NewTicker(flushEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				p.flush()
				return
			case <-tick.C:
				p.flush()
			}
		}
	}()
	for ctx.Err() == nil {
		err := p.Events.Follow(ctx, p.Store.Checkpoint(), p.Store.Append)
		if err != nil && !errors.Is(err, context.Canceled) {
			p.Logger.Error("analytics: follow", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	<-flushed
}

func (p Projection) flush() {
	added, err := p.Store.Flush()
	if err != nil {
		p.Logger.Error("analytics: flush", "err", err)
		return
	}
	if added && p.Changed != nil {
		p.Changed()
	}
}

// Wait returns once the store holds every event up to seq.
func (s *Store) Wait(ctx context.Context, seq uint64) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.Checkpoint() < seq {
		select {
		case <-ctx.Done():
			return fmt.Errorf("analytics: wait for %d (at %d): %w", seq, s.Checkpoint(), ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}
