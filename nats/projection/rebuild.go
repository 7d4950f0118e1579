package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats/ensure"
	"ironstar/nats/eventstore"
	"ironstar/nats/jetstreamx"
)

// Rebuilds.
//
// A rebuild replays a projection from sequence 1 into a new generation
// while the current one keeps serving, then swaps it in (one
// compare-and-set of the meta key) and deletes the old one. Any instance
// may start one: from the operator's page or command line, or at Start when
// the projection's Version was raised. One lock key per projection, created
// in LockBucket, makes sure only one runs at a time across every instance;
// its holder rewrites it every progressEvery with its progress, which is
// how every instance's status view shows a rebuild running elsewhere, and
// the bucket's TTL frees the lock of a process that died. A rebuild that
// did not finish leaves its half-built generation behind; the next one
// starts it over, since it may hold another version's values.
//
// The lock is also what keeps a rebuild and a cleanup of leftovers apart:
// it names the generation it builds from its creation, before anything of
// that generation exists; Cleanup takes it too, and reads the current
// generation again while it holds it. A rebuild whose process stalled past
// the lock's TTL finds the lock lost at its next write, and it writes
// immediately before its swap: a rebuild that lost the lock never swaps.

// LockBucket holds a key per projection being rebuilt: the lock and its
// progress.
const LockBucket = "projection_rebuilds"

// lockTTL is how long a lock outlives its holder's last write.
const lockTTL = 15 * time.Second

// lockWriteTimeout bounds taking and releasing a lock, which outlive the
// context of the request that asked.
const lockWriteTimeout = 2 * time.Second

// progressEvery is how often a rebuild writes its progress to its lock.
const progressEvery = time.Second

// ErrRebuilding means another rebuild of the projection, or a cleanup of
// its leftovers, is under way.
var ErrRebuilding = errors.New("projection: a rebuild is already under way")

// errLockLost means a rebuild's lock expired under it (the process stalled
// longer than lockTTL): another rebuild may have begun, so it stops.
var errLockLost = errors.New("projection: rebuild lock lost")

// RebuildProgress is a rebuild under way, as its lock records it.
type RebuildProgress struct {
	// Owner is the host and process running it.
	Owner string `json:"owner"`
	// Generation is the generation being built, of Version; 0 when the
	// lock's holder is Cleanup, which builds none.
	Generation uint64 `json:"generation"`
	Version    int    `json:"version"`
	// Position is the stream sequence applied up to; Total the stream's
	// last sequence when the rebuild began, which it replays up to.
	Position uint64 `json:"position"`
	Total    uint64 `json:"total"`
	// EventsPerSecond is the rate since its previous write.
	EventsPerSecond uint64    `json:"events_per_second"`
	Started         time.Time `json:"started"`
	Updated         time.Time `json:"updated"`
}

func lockBucket(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	kv, err := ensure.KeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: LockBucket, Storage: jetstream.FileStorage, Replicas: replicas, History: 1, TTL: lockTTL,
		Description: "projections being rebuilt, with their progress",
	})
	if err != nil {
		return nil, fmt.Errorf("projection: lock bucket: %w", err)
	}
	return kv, nil
}

// readLock returns the progress of the rebuild of name under way; nil if
// none.
func readLock(ctx context.Context, locks jetstream.KeyValue, name string) (*RebuildProgress, error) {
	entry, err := locks.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("projection %s: read rebuild lock: %w", name, err)
	}
	var p RebuildProgress
	if err := json.Unmarshal(entry.Value(), &p); err != nil {
		return nil, fmt.Errorf("projection %s: corrupt rebuild lock %q", name, entry.Value())
	}
	return &p, nil
}

// rebuildLock is a held lock.
type rebuildLock struct {
	kv       jetstream.KeyValue
	name     string
	revision uint64
	progress RebuildProgress
}

// acquireLock takes the lock of name for building generation of version
// (0 and 0 for a cleanup), or returns ErrRebuilding.
func acquireLock(ctx context.Context, kv jetstream.KeyValue, name string, generation uint64, version int) (*rebuildLock, error) {
	host, _ := os.Hostname()
	now := time.Now().UTC()
	l := &rebuildLock{kv: kv, name: name, progress: RebuildProgress{
		Owner: fmt.Sprintf("%s pid %d", host, os.Getpid()), Generation: generation, Version: version, Started: now, Updated: now,
	}}
	data, _ := json.Marshal(l.progress)
	// Not cut short when ctx ends: the server may have stored the lock
	// without the answer having arrived, and it would be left to its TTL.
	// Taken, it is released by the caller as any other.
	createCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockWriteTimeout)
	defer cancel()
	revision, err := kv.Create(createCtx, name, data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil, fmt.Errorf("%w: %s", ErrRebuilding, name)
	}
	if err != nil {
		return nil, fmt.Errorf("projection %s: take rebuild lock: %w", name, err)
	}
	l.revision = revision
	return l, nil
}

// write stores the progress, which also keeps the lock alive; errLockLost
// if another holder's write came in between.
func (l *rebuildLock) write(ctx context.Context) error {
	l.progress.Updated = time.Now().UTC()
	data, _ := json.Marshal(l.progress)
	revision, err := l.kv.Update(ctx, l.name, data, l.revision)
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return errLockLost
		}
		return err
	}
	l.revision = revision
	return nil
}

// release deletes the lock if it is still this one's.
func (l *rebuildLock) release(ctx context.Context, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockWriteTimeout)
	defer cancel()
	if err := l.kv.Delete(ctx, l.name, jetstream.LastRevision(l.revision)); err != nil {
		logger.Warn("projection: release rebuild lock", "projection", l.name, "err", err)
	}
}

// Rebuild replays the projection from sequence 1 into a new generation (a
// fresh bucket and consumer) while the current one keeps serving, and swaps
// it in, recording p.Version with it, once it has caught up with the stream
// as it was when Rebuild began. Runners and views everywhere follow the
// swap; the old generation is then deleted. It returns the new generation's
// number, or ErrRebuilding if another rebuild of the projection is under
// way. Its progress is in every runner's Status.
func Rebuild[V any](ctx context.Context, js jetstream.JetStream, p Projection[V], o Options) (uint64, error) {
	o = o.withDefaults()
	metaKV, err := metaBucket(ctx, js, o.Replicas)
	if err != nil {
		return 0, err
	}
	locks, err := lockBucket(ctx, js, o.Replicas)
	if err != nil {
		return 0, err
	}
	// The lock names the generation it builds from its creation; meta is
	// read again under it, since a rebuild may have swapped in between.
	before, _, err := readMeta(ctx, js, metaKV, p.Name)
	if err != nil {
		return 0, err
	}
	lock, err := acquireLock(ctx, locks, p.Name, before.Generation+1, p.Version)
	if err != nil {
		return 0, err
	}
	defer lock.release(ctx, o.Logger)
	current, revision, err := readMeta(ctx, js, metaKV, p.Name)
	if err != nil {
		return 0, err
	}
	next := current.Generation + 1
	if next != lock.progress.Generation {
		lock.progress.Generation = next
		if err := lock.write(ctx); err != nil {
			return 0, fmt.Errorf("projection %s: rebuild: %w", p.Name, err)
		}
	}
	if err := deleteUnfinished(ctx, js, metaKV, p.Name, current.Generation, o.Logger); err != nil {
		return 0, err
	}
	gen, err := ensureGeneration(ctx, js, p.Name, p.Subjects, next, o)
	if err != nil {
		return 0, err
	}
	gen.version = p.Version
	stream, err := js.Stream(ctx, eventstore.StreamName)
	if err != nil {
		return 0, fmt.Errorf("projection %s: rebuild: %w", p.Name, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("projection %s: rebuild: %w", p.Name, err)
	}
	total := info.State.LastSeq
	lock.progress.Total = total
	if err := lock.write(ctx); err != nil {
		return 0, fmt.Errorf("projection %s: rebuild: %w", p.Name, err)
	}
	o.Logger.Info("projection: rebuilding", "projection", p.Name, "generation", next, "version", p.Version, "events", total)

	rebuildCtx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	runCtx, stopRun := context.WithCancel(rebuildCtx)
	loopDone := make(chan struct{})
	progress := newProgress()
	go func() {
		defer close(loopDone)
		runLoop(runCtx, newApplier(runCtx, p, js, gen, o), o, progress,
			newCatchUp(p.Name, "projection rebuild", o, "generation", next))
	}()
	reportDone := make(chan struct{})
	go func() {
		defer close(reportDone)
		reportProgress(runCtx, lock, progress, o.Logger, func(err error) { abort(err) })
	}()
	err = waitFor(rebuildCtx, gen.consumer, total, progress)
	if cause := context.Cause(rebuildCtx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	stopRun()
	<-loopDone
	<-reportDone
	if err != nil {
		return 0, fmt.Errorf("projection %s: rebuild generation %d: %w", p.Name, next, err)
	}

	// The lock is written just before the swap: if it expired while this
	// process stalled, another rebuild or a cleanup may have begun, and
	// this one must not swap.
	if err := lock.write(ctx); err != nil {
		return 0, fmt.Errorf("projection %s: rebuild generation %d: before the swap: %w", p.Name, next, err)
	}
	data, _ := json.Marshal(meta{Generation: next, Version: p.Version})
	if _, err := metaKV.Update(ctx, p.Name, data, revision); err != nil {
		return 0, fmt.Errorf("projection %s: swap to generation %d: %w", p.Name, next, err)
	}
	o.Logger.Info("projection: rebuilt and swapped in", "projection", p.Name, "generation", next, "version", p.Version,
		"took", time.Since(lock.progress.Started).Round(time.Millisecond))
	awaitLeft(ctx, js, resourceName(p.Name, current.Generation))
	deleteGeneration(ctx, js, p.Name, current.Generation, o.Logger)
	return next, nil
}

// readMeta reads the projection's meta and its revision.
func readMeta(ctx context.Context, js jetstream.JetStream, metaKV jetstream.KeyValue, name string) (meta, uint64, error) {
	value, revision, err := jetstreamx.KVGet(ctx, js, metaKV, name)
	if err != nil {
		return meta{}, 0, fmt.Errorf("projection %s: read meta: %w", name, err)
	}
	m, err := decodeMeta(value)
	if err != nil {
		return meta{}, 0, fmt.Errorf("projection %s: %w", name, err)
	}
	return m, revision, nil
}

// deleteUnfinished deletes generation current+1, left by a rebuild that
// did not finish, unless meta no longer names current: a rebuild whose
// lock expired under it may have swapped that generation in since it was
// read, and then it serves.
func deleteUnfinished(ctx context.Context, js jetstream.JetStream, metaKV jetstream.KeyValue, name string, current uint64, logger *slog.Logger) error {
	now, _, err := readMeta(ctx, js, metaKV, name)
	if err != nil {
		return err
	}
	if now.Generation != current {
		return fmt.Errorf("%w: %s (generation %d was swapped in meanwhile)", ErrRebuilding, name, now.Generation)
	}
	deleteGeneration(ctx, js, name, current+1, logger)
	return nil
}

// leaveWithin bounds how long a rebuild waits for the runners to leave the
// generation it replaced: a runner's last pull request expires within a
// second of its seeing the swap.
const leaveWithin = 3 * time.Second

// awaitLeft waits until no runner has a pull request waiting on the
// consumer, at most leaveWithin. The runners everywhere see the swap
// through their watches and stop pulling; deleting the consumer under a
// pull request in flight would fail it, and show as the runner's last
// error.
func awaitLeft(ctx context.Context, js jetstream.JetStream, consumer string) {
	ctx, cancel := context.WithTimeout(ctx, leaveWithin)
	defer cancel()
	cons, err := js.Consumer(ctx, eventstore.StreamName, consumer)
	if err != nil {
		return
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if info, err := cons.Info(ctx); err != nil || info.NumWaiting == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// reportProgress writes the rebuild's position to its lock every
// progressEvery until ctx ends; a write that finds the lock lost calls
// abort.
func reportProgress(ctx context.Context, lock *rebuildLock, progress *progressTracker, logger *slog.Logger, abort func(error)) {
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	last, lastAt := uint64(0), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			position, _ := progress.get()
			lock.progress.Position = position
			lock.progress.EventsPerSecond = perSecond(position-min(last, position), now.Sub(lastAt))
			last, lastAt = position, now
			if err := lock.write(ctx); errors.Is(err, errLockLost) {
				abort(err)
				return
			} else if err != nil && ctx.Err() == nil {
				logger.Warn("projection: write rebuild progress", "projection", lock.name, "err", err)
			}
		}
	}
}

// deleteGeneration deletes a generation's consumer and buckets, those that
// exist.
func deleteGeneration(ctx context.Context, js jetstream.JetStream, name string, number uint64, logger *slog.Logger) {
	res := resourceName(name, number)
	if err := js.DeleteConsumer(ctx, eventstore.StreamName, res); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		logger.Warn("projection: delete consumer", "consumer", res, "err", err)
	}
	for _, bucket := range []string{res, parkedBucketName(name, number)} {
		if err := js.DeleteKeyValue(ctx, bucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			logger.Warn("projection: delete bucket", "bucket", bucket, "err", err)
		}
	}
}
