package engine

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"ironstar/es"
	"ironstar/nats/projection"
)

// Follower is where the projection reads events: everything after a
// sequence, then live (nats/eventstore.Store.Follow), and how far the
// stream goes (to log the progress of a replay).
type Follower interface {
	Follow(ctx context.Context, after uint64, fn func(es.Envelope) error, subjects ...string) error
	LastSequence(ctx context.Context) (uint64, error)
}

// flushEvery is how often appended rows are flushed: the freshness of the
// dashboard, and the batch size of a replay. Each flush is a DuckDB commit
// with a cost of its own (at 500 commands a second, five flushes a second
// took about 3 % of the process's CPU), so it is not much more often.
const flushEvery = time.Second

// catchUpBehind is how many events behind the copy must be to log its
// progress.
const catchUpBehind = 10_000

// Copier copies every event into the DuckDB store. It is not a projection
// (no KV read model, no projection.Runner): its checkpoint is the highest
// sequence in the table, so a restart resumes there and a deleted DuckDB
// file is rebuilt from the stream. Each engine has its own file: a standby
// engine keeps its copy current, so that it takes over at once.
type Copier struct {
	Store  *Store
	Events Follower
	// Changed, if set, is called after each flush that added rows.
	Changed func()
	// ProgressEvery is how often a copy far behind the stream logs its
	// progress (5 s if 0; see projection.CatchUp).
	ProgressEvery time.Duration
	Logger        *slog.Logger
}

// Run copies events until ctx ends, retrying after failures.
func (p Copier) Run(ctx context.Context) {
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
	var progress sync.WaitGroup
	defer progress.Wait()
	progress.Go(func() { p.logProgress(ctx) })
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

// logProgress compares the checkpoint with the stream's end, now and every
// ProgressEvery, until ctx ends.
func (p Copier) logProgress(ctx context.Context) {
	every := cmp.Or(p.ProgressEvery, 5*time.Second)
	catchUp := projection.NewCatchUp(p.Logger, "analytics", every, catchUpBehind)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if last, err := p.Events.LastSequence(ctx); err == nil {
			catchUp.Observe(p.Store.Checkpoint(), last)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (p Copier) flush() {
	added, err := p.Store.Flush()
	if err != nil {
		p.Logger.Error("analytics: flush", "err", err)
		return
	}
	if added && p.Changed != nil {
		p.Changed()
	}
}
