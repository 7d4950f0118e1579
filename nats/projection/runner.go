package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats/jetstreamx"
)

// Runner keeps one projection up to date from this process. Start one per
// projection in every app instance: they share the work safely (see the
// package comment).
type Runner[V any] struct {
	p        Projection[V]
	js       jetstream.JetStream
	o        Options
	meta     jetstream.KeyValue
	locks    jetstream.KeyValue
	progress *progressTracker
	catchUp  *CatchUp
	cancel   context.CancelFunc
	done     chan struct{}

	mu  sync.Mutex
	gen *generation
	// switched is closed (and replaced) when gen changes.
	switched chan struct{}
	// lastRebuildError and lastRebuildAt are the outcome of the last
	// rebuild this runner started (see Status).
	lastRebuildError string
	lastRebuildAt    time.Time
}

// Start opens (or creates) the projection's current generation and keeps it
// up to date until Stop. If the generation was built with a lower Version
// than p's, Start also rebuilds the projection in the background (see
// upgrade).
func Start[V any](ctx context.Context, js jetstream.JetStream, p Projection[V], o Options) (*Runner[V], error) {
	if !validName.MatchString(p.Name) {
		return nil, fmt.Errorf("projection: invalid name %q", p.Name)
	}
	if p.Keys == nil || p.Apply == nil {
		return nil, fmt.Errorf("projection %s: Keys and Apply are required", p.Name)
	}
	o = o.withDefaults()
	meta, err := metaBucket(ctx, js, o.Replicas)
	if err != nil {
		return nil, err
	}
	locks, err := lockBucket(ctx, js, o.Replicas)
	if err != nil {
		return nil, err
	}
	m, err := currentMeta(ctx, js, meta, p.Name, p.Version)
	if err != nil {
		return nil, err
	}
	gen, err := ensureGeneration(ctx, js, p.Name, p.Subjects, m.Generation, o)
	if err != nil {
		return nil, err
	}
	gen.version = m.Version
	runCtx, cancel := context.WithCancel(context.Background())
	r := &Runner[V]{p: p, js: js, o: o, meta: meta, locks: locks, progress: newProgress(), catchUp: newCatchUp(p.Name, "projection", o), cancel: cancel, done: make(chan struct{}), gen: gen, switched: make(chan struct{})}
	var work sync.WaitGroup
	work.Go(func() { r.run(runCtx) })
	if m.Version != p.Version {
		work.Go(func() { r.upgrade(runCtx) })
	}
	go func() {
		work.Wait()
		close(r.done)
	}()
	return r, nil
}

// run applies the current generation and follows swaps to a new one.
func (r *Runner[V]) run(ctx context.Context) {
	for ctx.Err() == nil {
		r.mu.Lock()
		gen := r.gen
		r.mu.Unlock()
		genCtx, stopGen := context.WithCancel(ctx)
		loopDone := make(chan struct{})
		go func() {
			defer close(loopDone)
			runLoop(genCtx, newApplier(genCtx, r.p, r.js, gen, r.o), r.o, r.progress, r.catchUp)
		}()
		next, err := r.awaitSwap(genCtx, gen.number)
		stopGen()
		<-loopDone
		if err != nil {
			if ctx.Err() == nil {
				r.o.Logger.Warn("projection: watch generation", "projection", r.p.Name, "err", err)
				wait(ctx, time.Second)
			}
			continue
		}
		if newGen, err := ensureGeneration(ctx, r.js, r.p.Name, r.p.Subjects, next.Generation, r.o); err == nil {
			newGen.version = next.Version
			r.mu.Lock()
			r.gen = newGen
			close(r.switched)
			r.switched = make(chan struct{})
			r.mu.Unlock()
			r.o.Logger.Info("projection: switched generation", "projection", r.p.Name, "generation", next.Generation, "version", next.Version)
		}
	}
}

// awaitSwap returns when the meta bucket names a generation other than
// current.
func (r *Runner[V]) awaitSwap(ctx context.Context, current uint64) (meta, error) {
	swaps, err := watchKey(ctx, r.js, MetaBucket, r.p.Name, false)
	if err != nil {
		return meta{}, err
	}
	for c := range swaps {
		var m meta
		if !c.deleted && json.Unmarshal(c.value, &m) == nil && m.Generation != current && m.Generation != 0 {
			return m, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return meta{}, err
	}
	return meta{}, errors.New("watch closed")
}

// upgradeRetry is how long upgrade waits before it looks again, when
// another instance holds the rebuild lock or the rebuild failed.
const upgradeRetry = 2 * time.Second

// upgrade rebuilds the projection because its current generation was built
// with a lower Version: the generation serves (and run keeps it up to date)
// until the rebuilt one has caught up and is swapped in. While another
// instance holds the rebuild lock, it waits and looks again: that rebuild
// may finish (then the versions match) or die (then its lock expires).
// A generation of a higher version is left alone: this process runs older
// code than the instance that built it (a rolling deploy), and rebuilding
// back would make the two take turns.
func (r *Runner[V]) upgrade(ctx context.Context) {
	logger := r.o.Logger.With("projection", r.p.Name)
	for ctx.Err() == nil {
		value, _, err := jetstreamx.KVGet(ctx, r.js, r.meta, r.p.Name)
		var m meta
		if err == nil {
			m, err = decodeMeta(value)
		}
		switch {
		case err != nil:
			logger.Warn("projection: read meta for an upgrade", "err", err)
		case m.Version == r.p.Version:
			return
		case m.Version > r.p.Version:
			logger.Warn("projection: the current generation was built by a later version; not rebuilding", "generation", m.Generation, "built_by", m.Version, "version", r.p.Version)
			return
		default:
			logger.Info("projection: version raised; rebuilding while the current generation serves", "generation", m.Generation, "from", m.Version, "to", r.p.Version)
			_, err := Rebuild(ctx, r.js, r.p, r.o)
			if err == nil {
				r.recordRebuild(nil)
				return
			}
			if !errors.Is(err, ErrRebuilding) && ctx.Err() == nil {
				r.recordRebuild(err)
				logger.Error("projection: rebuild for the raised version", "err", err)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(upgradeRetry):
		}
	}
}

// Rebuild rebuilds the projection into a new generation (see Rebuild)
// and returns once this runner follows it (or after followWithin, if it
// does not yet), so that its Status is the new generation's. Its outcome
// is in Status.
func (r *Runner[V]) Rebuild(ctx context.Context) (uint64, error) {
	generation, err := Rebuild(ctx, r.js, r.p, r.o)
	r.recordRebuild(err)
	if err == nil {
		r.awaitGeneration(ctx, generation)
	}
	return generation, err
}

// followWithin bounds how long Runner.Rebuild waits for its runner to
// follow the swap, which its watch of the meta bucket sees at once.
const followWithin = 5 * time.Second

// awaitGeneration returns when the runner serves generation or a later
// one, has stopped, or followWithin has passed, or ctx ends.
func (r *Runner[V]) awaitGeneration(ctx context.Context, generation uint64) {
	timeout := time.NewTimer(followWithin)
	defer timeout.Stop()
	for {
		r.mu.Lock()
		current, switched := r.gen.number, r.switched
		r.mu.Unlock()
		if current >= generation {
			return
		}
		select {
		case <-switched:
		case <-r.done:
			return
		case <-timeout.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// recordRebuild records the outcome of a rebuild this runner started: err,
// nil if it succeeded.
func (r *Runner[V]) recordRebuild(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastRebuildError, r.lastRebuildAt = "", time.Now().UTC()
	if err != nil {
		r.lastRebuildError = err.Error()
	}
}

// Name is the projection's name.
func (r *Runner[V]) Name() string { return r.p.Name }

// Stop finishes the batch in hand, hands the work to another runner and
// returns when this one has stopped or ctx ends.
func (r *Runner[V]) Stop(ctx context.Context) error {
	r.cancel()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wait returns once the projection has applied every event up to sequence
// seq (by any runner). Tests use it to run a projection to a known point
// deterministically; handlers can use it to read their own writes.
func (r *Runner[V]) Wait(ctx context.Context, seq uint64) error {
	r.mu.Lock()
	gen := r.gen
	r.mu.Unlock()
	return waitFor(ctx, gen.consumer, seq, r.progress)
}

// CatchingUp reports whether this runner is applying a backlog of at
// least MaxBatch events (a first start, a restart after a long stop), so
// that pages can say their read model is behind. A standby runner (another
// instance holds the pin) is never catching up.
func (r *Runner[V]) CatchingUp() bool { return r.catchUp.Behind() }

// Generation is the generation this runner is applying.
func (r *Runner[V]) Generation() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gen.number
}

// Status is where a projection stands.
type Status struct {
	Name       string
	Generation uint64 // the generation this runner applies
	// Version is the Projection.Version that generation was built with.
	Version int
	// Position is the stream sequence up to which the projection has
	// applied every event of its subjects, by whichever runner.
	Position uint64
	// Lag is how many events of its subjects are not applied yet
	// (delivered to a runner and not acknowledged, or not delivered).
	Lag uint64
	// Applied is how many events this runner has applied since it
	// started: another instance's runner may apply the rest.
	Applied uint64
	// CatchingUp is CatchingUp.
	CatchingUp bool
	// LastError is the last error this runner met fetching or applying
	// events (empty if none since it started), at LastErrorAt. Events it
	// could not apply are parked instead.
	LastError   string
	LastErrorAt time.Time
	// Parked is how many entries the generation's parked bucket holds,
	// FirstParked the first parked event that has not healed (nil if
	// none).
	Parked      int
	FirstParked *Parked
	// Rebuild is the rebuild under way, in any instance; nil if none.
	Rebuild *RebuildProgress
	// LastRebuildError is why the last rebuild this runner started (asked
	// through Rebuild, or for a raised Version) failed; empty if it
	// succeeded. LastRebuildAt is when it ended; zero if this runner
	// started none. A rebuild started in another instance shows there.
	LastRebuildError string
	LastRebuildAt    time.Time
}

// Reporter reports where a projection stands and rebuilds it: every Runner
// is one, whatever its value type.
type Reporter interface {
	Name() string
	Status(ctx context.Context) (Status, error)
	Rebuild(ctx context.Context) (uint64, error)
}

// Status asks JetStream where the projection's current generation stands:
// a consumer-info request, the parked bucket's status (and its first entry
// if it has any), and the rebuild lock.
func (r *Runner[V]) Status(ctx context.Context) (Status, error) {
	r.mu.Lock()
	gen := r.gen
	// Set even when JetStream does not answer.
	st := Status{Name: r.p.Name, Generation: gen.number, Version: gen.version, Applied: r.progress.count(), CatchingUp: r.CatchingUp(),
		LastRebuildError: r.lastRebuildError, LastRebuildAt: r.lastRebuildAt}
	r.mu.Unlock()
	st.LastError, st.LastErrorAt = r.progress.lastError()
	info, err := gen.consumer.Info(ctx)
	if err != nil {
		return st, fmt.Errorf("projection %s: consumer info: %w", r.p.Name, err)
	}
	st.Position = info.AckFloor.Stream
	st.Lag = info.NumPending + uint64(info.NumAckPending)
	parked, entries, err := listParked(ctx, r.js, gen, 1)
	if err != nil {
		return st, fmt.Errorf("projection %s: list parked events: %w", r.p.Name, err)
	}
	st.Parked = entries
	if len(parked) > 0 {
		st.FirstParked = &parked[0]
	}
	st.Rebuild, err = readLock(ctx, r.locks, r.p.Name)
	if st.Rebuild != nil && st.Rebuild.Generation == 0 {
		st.Rebuild = nil // held by Cleanup, which rebuilds nothing
	}
	return st, err
}

// Parked lists the events the projection's current generation has parked
// and not healed, in sequence order, whichever instance parked them (at
// most 1,000).
func (r *Runner[V]) Parked(ctx context.Context) ([]Parked, error) {
	parked, _, err := r.listParked(ctx, maxListed)
	return parked, err
}

// Health returns an error wrapping ErrDegraded, naming the projection and
// its first parked event, while the projection has parked events that have
// not healed; or an error reading them. It is meant for a readiness check,
// run on every probe: it reads the first parked event only.
func (r *Runner[V]) Health(ctx context.Context) error {
	parked, entries, err := r.listParked(ctx, 1)
	if err != nil || len(parked) == 0 {
		return err
	}
	first := parked[0]
	return fmt.Errorf("%w: projection %s has parked events (%d entries); first: event %d on key %q: %s",
		ErrDegraded, r.p.Name, entries, first.Seq, first.Key, first.Error)
}

// listParked lists the current generation's parked events (see listParked).
func (r *Runner[V]) listParked(ctx context.Context, limit int) ([]Parked, int, error) {
	r.mu.Lock()
	gen := r.gen
	r.mu.Unlock()
	parked, entries, err := listParked(ctx, r.js, gen, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("projection %s: list parked events: %w", r.p.Name, err)
	}
	return parked, entries, nil
}

// waitFor polls the consumer until seq has been acknowledged, or nothing is
// pending (which covers a seq outside the projection's subjects; seq must
// already be stored when waitFor is called). The local progress channel
// wakes it early when this process did the work.
func waitFor(ctx context.Context, cons jetstream.Consumer, seq uint64, local *progressTracker) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var changed <-chan struct{}
		if local != nil {
			var applied uint64
			applied, changed = local.get()
			if applied >= seq {
				return nil
			}
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return fmt.Errorf("projection: wait for %d: %w", seq, err)
		}
		if info.AckFloor.Stream >= seq || (info.NumPending == 0 && info.NumAckPending == 0) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("projection: wait for %d (acknowledged %d, pending %d): %w", seq, info.AckFloor.Stream, info.NumPending, ctx.Err())
		case <-changed:
		case <-tick.C:
		}
	}
}
