package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats/eventstore"
)

// Runner keeps one projection up to date from this process. Start one per
// projection in every app instance: they share the work safely (see the
// package comment).
type Runner[V any] struct {
	p        Projection[V]
	js       jetstream.JetStream
	o        Options
	meta     jetstream.KeyValue
	progress *progressTracker
	catchUp  *CatchUp
	cancel   context.CancelFunc
	done     chan struct{}

	mu  sync.Mutex
	gen *generation
}

// Start opens (or creates) the projection's current generation and keeps it
// up to date until Stop.
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
	number, err := currentGeneration(ctx, js, meta, p.Name)
	if err != nil {
		return nil, err
	}
	gen, err := ensureGeneration(ctx, js, p.Name, p.Subjects, number, o)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r := &Runner[V]{p: p, js: js, o: o, meta: meta, progress: newProgress(), catchUp: newCatchUp(p.Name, "projection", o), cancel: cancel, done: make(chan struct{}), gen: gen}
	go r.run(runCtx)
	return r, nil
}

// run applies the current generation and follows swaps to a new one.
func (r *Runner[V]) run(ctx context.Context) {
	defer close(r.done)
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
		if newGen, err := ensureGeneration(ctx, r.js, r.p.Name, r.p.Subjects, next, r.o); err == nil {
			r.mu.Lock()
			r.gen = newGen
			r.mu.Unlock()
			r.o.Logger.Info("projection: switched generation", "projection", r.p.Name, "generation", next)
		}
	}
}

// awaitSwap returns when the meta bucket names a generation other than
// current.
func (r *Runner[V]) awaitSwap(ctx context.Context, current uint64) (uint64, error) {
	swaps, err := watchKey(ctx, r.js, MetaBucket, r.p.Name, false)
	if err != nil {
		return 0, err
	}
	for c := range swaps {
		var m meta
		if !c.deleted && json.Unmarshal(c.value, &m) == nil && m.Generation != current && m.Generation != 0 {
			return m.Generation, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("watch closed")
}

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
}

// Reporter reports where a projection stands: every Runner is one,
// whatever its value type.
type Reporter interface {
	Status(ctx context.Context) (Status, error)
}

// Status asks JetStream where the projection's current generation stands
// (one consumer-info request).
func (r *Runner[V]) Status(ctx context.Context) (Status, error) {
	r.mu.Lock()
	gen := r.gen
	r.mu.Unlock()
	// Set even when JetStream does not answer.
	st := Status{Name: r.p.Name, Generation: gen.number, Applied: r.progress.count(), CatchingUp: r.CatchingUp()}
	info, err := gen.consumer.Info(ctx)
	if err != nil {
		return st, fmt.Errorf("projection %s: consumer info: %w", r.p.Name, err)
	}
	st.Position = info.AckFloor.Stream
	st.Lag = info.NumPending + uint64(info.NumAckPending)
	return st, nil
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

// Rebuild replays the projection from sequence 1 into a new generation (a
// fresh bucket and consumer) while the current one keeps serving, and swaps
// it in once it has caught up with the stream as it was when Rebuild began.
// Runners and views everywhere follow the swap; the old generation is then
// deleted. It returns the new generation's number.
func Rebuild[V any](ctx context.Context, js jetstream.JetStream, p Projection[V], o Options) (uint64, error) {
	o = o.withDefaults()
	metaKV, err := metaBucket(ctx, js, o.Replicas)
	if err != nil {
		return 0, err
	}
	entry, err := metaKV.Get(ctx, p.Name)
	if err != nil {
		return 0, fmt.Errorf("projection %s: rebuild: read meta: %w", p.Name, err)
	}
	var current meta
	if err := json.Unmarshal(entry.Value(), &current); err != nil {
		return 0, fmt.Errorf("projection %s: corrupt meta: %w", p.Name, err)
	}
	next := current.Generation + 1
	gen, err := ensureGeneration(ctx, js, p.Name, p.Subjects, next, o)
	if err != nil {
		return 0, err
	}
	stream, err := js.Stream(ctx, eventstore.StreamName)
	if err != nil {
		return 0, err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return 0, err
	}

	runCtx, stopRun := context.WithCancel(ctx)
	loopDone := make(chan struct{})
	progress := newProgress()
	go func() {
		defer close(loopDone)
		runLoop(runCtx, newApplier(runCtx, p, js, gen, o), o, progress,
			newCatchUp(p.Name, "projection rebuild", o, "generation", next))
	}()
	err = waitFor(ctx, gen.consumer, info.State.LastSeq, progress)
	stopRun()
	<-loopDone
	if err != nil {
		return 0, err
	}

	data, _ := json.Marshal(meta{Generation: next})
	if _, err := metaKV.Update(ctx, p.Name, data, entry.Revision()); err != nil {
		return 0, fmt.Errorf("projection %s: swap to generation %d (another rebuild won?): %w", p.Name, next, err)
	}
	old := resourceName(p.Name, current.Generation)
	if err := js.DeleteConsumer(ctx, eventstore.StreamName, old); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		o.Logger.Warn("projection: delete old consumer", "consumer", old, "err", err)
	}
	for _, bucket := range []string{old, parkedBucketName(p.Name, current.Generation)} {
		if err := js.DeleteKeyValue(ctx, bucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			o.Logger.Warn("projection: delete old bucket", "bucket", bucket, "err", err)
		}
	}
	return next, nil
}
