// Package projection folds events from the EVENTS stream into read models in
// JetStream KV buckets.
//
// A projection is named. Its name gives a durable consumer on EVENTS and a KV
// bucket, per generation: proj_<name>_<generation>. Every value records the
// stream sequence of the last event applied to it; an event at or below that
// sequence is skipped, so redelivery is harmless. The durable consumer's ack
// floor is the checkpoint a restart resumes from. Renaming a projection
// replays it from sequence 1 into a new bucket (and leaves the old one
// behind: see Leftovers). Rebuild does the same under the same name and
// swaps the new generation in once it has caught up; raising a
// projection's Version makes its next Start do that (see rebuild.go).
//
// # Two instances, one projection
//
// The consumer uses a pinned-client priority group: of all the runners
// pulling, the server delivers to one at a time, so events are applied by one
// process, in stream order. A runner applies a fetched batch, writes the
// changed values with compare-and-set on their KV revision, and only then
// acknowledges the batch (AckAll on its last message). If the pinned runner
// dies, the pin moves after PinnedTTL, which is longer than AckWait, so by
// then its unacknowledged batch has been queued for redelivery, and JetStream
// serves redeliveries (sorted by sequence) before new messages: the new
// runner sees the events in order, and skips those the old one had applied.
// A stopping runner unpins itself so that another takes over at once. Should
// two runners ever write one key concurrently (a paused process waking up
// after losing its pin), the KV compare-and-set fails for one of them, which
// reloads and re-applies the batch on top of the other's values.
//
// An event a runner cannot apply (it does not decode, Apply fails or
// panics, its value is too large to store) is parked rather than retried,
// so that it cannot hold up the events after it: see park.go and
// Runner.Health.
//
// MaxAckPending 1 would give the same order but one round trip per event; a
// per-key version check alone would let two runners apply a key's events out
// of order. The pinned group keeps batches (and replay speed) and order.
package projection

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/es"
	"ironstar/nats/ensure"
	"ironstar/nats/eventstore"
	"ironstar/nats/jetstreamx"
)

// Projection describes one read model. Keys and Apply must be deterministic:
// a rebuild replays them over the whole history.
type Projection[V any] struct {
	// Name identifies the projection ([a-z0-9_-]).
	Name string
	// Subjects filters the events read, e.g. "events.todo.>"; all if empty.
	Subjects []string
	// Keys returns the read-model keys that env changes; none to skip it.
	Keys func(env es.Envelope) []string
	// Apply returns the key's value after env. current is the zero value
	// for a key not seen before. It must not keep references to current.
	// An error (or a panic) is taken as permanent for env: Apply is
	// deterministic, so retrying would fail again. The event is parked
	// and the key keeps current.
	Apply func(key string, current V, env es.Envelope) (V, error)
	// Version is the version of Keys and Apply. Raise it when they change
	// what the read model holds: the next Start rebuilds the projection
	// into a new generation, while the current one keeps serving, and
	// records the version with it. 0 (unset) is a version like any other.
	Version int
}

// ByAggregate is the usual Keys: one read model per aggregate of the given
// type, keyed by the aggregate's ID; other events are skipped.
func ByAggregate(aggregate string) func(es.Envelope) []string {
	return func(env es.Envelope) []string {
		if env.Stream.Aggregate != aggregate {
			return nil
		}
		return []string{env.Stream.ID}
	}
}

// AggregateSubjects is the Subjects of a projection that reads one
// aggregate type's events only. Worth it when they are a small share of
// the stream (a counter among todo lists): the server then skips the rest
// instead of delivering each one to be ignored. A projection of most of the
// stream reads it all (no Subjects): on a stream of many subjects a
// wildcard filter costs the server more than delivering (see the replay
// numbers in docs/10-performance.md).
func AggregateSubjects(aggregate string) []string {
	return []string{eventstore.SubjectPrefix + "." + aggregate + ".>"}
}

// newCatchUp is a runner's progress log, as what ("projection", or
// "projection rebuild" with its generation in attrs): it counts as behind
// from MaxBatch events.
func newCatchUp(name, what string, o Options, attrs ...any) *CatchUp {
	return NewCatchUp(o.Logger.With(append([]any{"projection", name}, attrs...)...), what, o.ProgressEvery, uint64(o.MaxBatch))
}

// Options tune a runner; the zero value is sensible for the embedded server.
type Options struct {
	// Replicas for the consumer and the buckets (1 if 0).
	Replicas int
	// BatchSize is how many events one pull asks for (1,000 if 0).
	BatchSize int
	// MaxBatch is how many events a runner that is catching up (a restart,
	// a rebuild) folds before it writes the values they changed and
	// acknowledges them (10 batches if 0). Larger batches write a busy key
	// once instead of many times (see BenchmarkReplay), but the runner holds
	// every message of one: 10,000 events of a few hundred bytes each, tens
	// of MB, per projection.
	MaxBatch int
	// AckWait is how long the server waits for a batch's acknowledgement.
	AckWait time.Duration
	// PinnedTTL is how long a silent runner keeps the pin. It must exceed
	// AckWait (see the package comment).
	PinnedTTL time.Duration
	// ProgressEvery is how often a runner at least MaxBatch events behind
	// logs its progress (5 s if 0); see CatchUp and Runner.CatchingUp.
	ProgressEvery time.Duration
	Logger        *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Replicas < 1 {
		o.Replicas = 1
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.MaxBatch < o.BatchSize {
		o.MaxBatch = 10 * o.BatchSize
	}
	if o.AckWait <= 0 {
		o.AckWait = 10 * time.Second
	}
	if o.PinnedTTL <= o.AckWait {
		o.PinnedTTL = 2 * o.AckWait
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// MetaBucket records each projection's current generation and the
// version it was built with.
const MetaBucket = "projections"

// group is the priority group every runner of a projection pulls through.
const group = "apply"

var validName = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// validKey is what a KV key may hold.
var validKey = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

// Errors.
var (
	// ErrInvalidKey means Keys returned something KV cannot store.
	ErrInvalidKey = errors.New("projection: invalid key")
	errConflict   = errors.New("projection: another runner wrote a key")
	errTooSlow    = errors.New("projection: batch not applied within AckWait/2")
)

// record is a stored value with the sequence of the last event applied.
// ParkedSince, when not 0, is the first event parked on the key since its
// last good one: Value lacks it and every parked one after it.
type record[V any] struct {
	Seq         uint64 `json:"seq"`
	Value       V      `json:"value"`
	ParkedSince uint64 `json:"parked_since,omitempty"`
}

// resourceName is the consumer and bucket name of one generation.
func resourceName(name string, generation uint64) string {
	return fmt.Sprintf("proj_%s_%d", name, generation)
}

// meta is the value under a projection's name in MetaBucket.
type meta struct {
	Generation uint64 `json:"generation"`
	// Version is the Projection.Version the generation was built with.
	Version int `json:"version,omitempty"`
}

func metaBucket(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	kv, err := ensure.KeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: MetaBucket, Storage: jetstream.FileStorage, Replicas: replicas, History: 1,
		Description: "current generation of every projection",
	})
	if err != nil {
		return nil, fmt.Errorf("projection: meta bucket: %w", err)
	}
	return kv, nil
}

// currentMeta reads (or, for a new projection, creates at generation 1 of
// version) the projection's meta.
func currentMeta(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue, name string, version int) (meta, error) {
	return ensure.Retry(ctx, "projection "+name+": generation", func(ctx context.Context) (meta, error) {
		value, _, err := jetstreamx.KVGet(ctx, js, kv, name)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			data, _ := json.Marshal(meta{Generation: 1, Version: version})
			if _, err := kv.Create(ctx, name, data); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
				return meta{}, err
			}
			value, _, err = jetstreamx.KVGet(ctx, js, kv, name) // created by us or by a racing instance
		}
		if err != nil {
			return meta{}, err
		}
		return decodeMeta(value)
	})
}

func decodeMeta(value []byte) (meta, error) {
	var m meta
	if err := json.Unmarshal(value, &m); err != nil || m.Generation == 0 {
		return meta{}, fmt.Errorf("corrupt meta %q", value)
	}
	return m, nil
}

// generation is the consumer and bucket of one generation of a projection.
type generation struct {
	number uint64
	// version is the Projection.Version it was built with.
	version  int
	consumer jetstream.Consumer
	kv       jetstream.KeyValue
	bucket   string
	// parked holds the events this generation could not apply.
	parked jetstream.KeyValue
}

func ensureGeneration(ctx context.Context, js jetstream.JetStream, name string, subjects []string, number uint64, o Options) (*generation, error) {
	// A generation's values and its parked events live in buckets alike.
	bucket := func(bucket, description string) (jetstream.KeyValue, error) {
		kv, err := ensure.KeyValue(ctx, js, jetstream.KeyValueConfig{
			Bucket: bucket, Storage: jetstream.FileStorage, Replicas: o.Replicas, History: 1,
			Description: fmt.Sprintf(description, name, number),
		})
		if err != nil {
			return nil, fmt.Errorf("projection %s: bucket %s: %w", name, bucket, err)
		}
		return kv, nil
	}
	res := resourceName(name, number)
	kv, err := bucket(res, "projection %s, generation %d")
	if err != nil {
		return nil, err
	}
	parked, err := bucket(parkedBucketName(name, number), "events projection %s, generation %d, could not apply")
	if err != nil {
		return nil, err
	}
	cfg := jetstream.ConsumerConfig{
		Durable:        res,
		Description:    fmt.Sprintf("projection %s, generation %d", name, number),
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckAllPolicy,
		AckWait:        o.AckWait,
		MaxAckPending:  o.MaxBatch + o.BatchSize,
		FilterSubjects: subjects,
		Replicas:       o.Replicas,
		PriorityPolicy: jetstream.PriorityPolicyPinned,
		PriorityGroups: []string{group},
		PinnedTTL:      o.PinnedTTL,
	}
	cons, err := ensure.Consumer(ctx, js, eventstore.StreamName, cfg)
	if err != nil {
		return nil, fmt.Errorf("projection %s: consumer %s: %w", name, res, err)
	}
	return &generation{number: number, consumer: cons, kv: kv, bucket: res, parked: parked}, nil
}

// applier applies batches of one generation with a cache of the values it
// wrote last. The cache is only a shortcut: compare-and-set on the KV
// revision detects any other writer, and then the cache is dropped.
type applier[V any] struct {
	p      Projection[V]
	js     jetstream.JetStream
	gen    *generation
	logger *slog.Logger
	cache  map[string]*cached[V]
	// fresh is set while the bucket is known to have been empty when this
	// applier started: a key not in the cache is then new, and reading it
	// can be skipped. Compare-and-set still checks that assumption, and a
	// conflict clears fresh along with the cache.
	fresh bool
	// unsure are keys a failed batch changed in the cache, whose writes may
	// or may not have landed: they are read again, even while fresh.
	unsure map[string]bool
	// maxValue is the largest encoded record written: the connection's
	// maximum payload less headerRoom. An event that would make a value
	// larger is parked.
	maxValue int
	// careful are the keys whose values are measured after every event:
	// a batch folded them into a value too large to store, and is being
	// applied again to find the events to park. (Measuring every value
	// after every event would cost a replay its batching.)
	careful map[string]bool
}

type cached[V any] struct {
	rec      record[V]
	revision uint64
	// corrupt is the error of a stored value that does not decode: every
	// event for the key is parked until a rebuild.
	corrupt error
}

// maxCache bounds the values kept between batches; maxFreshCache does while
// a fresh bucket is being filled.
const (
	maxCache      = 10_000
	maxFreshCache = 200_000
)

// writeWindow is how many writes a batch keeps in flight: well below the
// connection's limit of pending asynchronous publishes (4,000 by default),
// past which a publish fails after a short stall, and the whole batch with it.
const writeWindow = 1000

// headerRoom is what maxValue leaves of the maximum payload for the
// compare-and-set header.
const headerRoom = 4 << 10

func newApplier[V any](ctx context.Context, p Projection[V], js jetstream.JetStream, gen *generation, o Options) *applier[V] {
	a := &applier[V]{
		p: p, js: js, gen: gen, cache: map[string]*cached[V]{}, careful: map[string]bool{}, unsure: map[string]bool{},
		logger: o.Logger, maxValue: int(js.Conn().MaxPayload()) - headerRoom,
	}
	if status, err := gen.kv.Status(ctx); err == nil && status.Values() == 0 {
		a.fresh = true // a new projection or generation: replaying from 1
	}
	return a
}

// oversizeError names the keys a batch folded into values too large to
// store (or to encode).
type oversizeError struct{ keys []string }

func (e *oversizeError) Error() string {
	return fmt.Sprintf("projection: values too large to store for %d keys", len(e.keys))
}

// apply folds the batch into the values it touches and writes them. An
// event it cannot apply is parked: recorded before the values are written
// (so that it is never acknowledged unrecorded), and left out of its key's
// value. Only infrastructure errors (reads, writes, conflicts) fail the
// batch, to be applied again.
func (a *applier[V]) apply(ctx context.Context, batch []jetstream.Msg) (err error) {
	dirty := map[string]*cached[V]{}
	defer func() {
		switch {
		case errors.Is(err, errConflict):
			// Another runner wrote: nothing cached can be trusted.
			a.fresh = false
			clear(a.cache)
		case err != nil:
			// The batch's keys were changed in the cache and maybe not in
			// the bucket (a write timed out, say); the others stand, so a
			// slow write does not cost a replay every key's read.
			for key := range dirty {
				delete(a.cache, key)
				a.unsure[key] = true
			}
		}
		if len(a.cache) > maxFreshCache {
			a.fresh = false // bound memory; later misses read the bucket
		}
		if len(a.cache) > maxCache && !a.fresh {
			clear(a.cache)
		}
		if !a.fresh {
			clear(a.unsure) // every miss reads the bucket anyway
		}
	}()
	// healing are the keys a good event was applied to after parked ones.
	healing := map[string]bool{}
	var parked []parking
	park := func(seq uint64, key, typ string, keyed bool, err error) {
		parked = append(parked, parking{
			Parked: Parked{Projection: a.p.Name, Generation: a.gen.number, Seq: seq, Key: key, Type: typ, Error: err.Error(), At: time.Now().UTC()},
			keyed:  keyed, err: err,
		})
	}
	for _, m := range batch {
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		env, err := eventstore.Decode(m.Subject(), m.Headers(), m.Data(), meta.Sequence.Stream)
		if err != nil {
			park(meta.Sequence.Stream, "", m.Headers().Get(eventstore.HeaderType), false, err)
			continue
		}
		keys, err := safely(func() ([]string, error) { return a.p.Keys(env), nil })
		if err != nil {
			park(env.Sequence, "", env.Type, false, fmt.Errorf("keys: %w", err))
			continue
		}
		for _, key := range keys {
			if !validKey.MatchString(key) || strings.HasPrefix(key, ".") || strings.HasSuffix(key, ".") {
				park(env.Sequence, key, env.Type, false, fmt.Errorf("%w %q", ErrInvalidKey, key))
				continue
			}
			c, err := a.load(ctx, key)
			if err != nil {
				return err
			}
			if c.corrupt != nil {
				park(env.Sequence, key, env.Type, true, c.corrupt)
				continue
			}
			if env.Sequence <= c.rec.Seq {
				continue // applied (or parked) before: a redelivery, or another runner's work
			}
			value, err := safely(func() (V, error) { return a.p.Apply(key, c.rec.Value, env) })
			if err == nil && a.careful[key] {
				err = a.measure(record[V]{Seq: env.Sequence, Value: value})
			}
			if err != nil {
				park(env.Sequence, key, env.Type, true, err)
				// The key keeps its last good value, and says since when
				// events are missing from it.
				c.rec = record[V]{Seq: env.Sequence, Value: c.rec.Value, ParkedSince: cmp.Or(c.rec.ParkedSince, env.Sequence)}
				dirty[key] = c
				continue
			}
			if c.rec.ParkedSince != 0 {
				healing[key] = true
			}
			c.rec = record[V]{Seq: env.Sequence, Value: value}
			dirty[key] = c
		}
	}
	if err := a.recordParked(ctx, parked); err != nil {
		return err
	}
	if err := a.write(ctx, dirty); err != nil {
		return err
	}
	clear(a.careful)
	for key := range healing {
		// Parked again later in the batch: the entries from then on stay.
		a.heal(ctx, key, dirty[key].rec.ParkedSince)
	}
	return nil
}

// measure returns an error if rec is too large to store or cannot be
// encoded.
func (a *applier[V]) measure(rec record[V]) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if len(data) > a.maxValue {
		return fmt.Errorf("%w: %d bytes, at most %d", errTooLarge, len(data), a.maxValue)
	}
	return nil
}

func (a *applier[V]) load(ctx context.Context, key string) (*cached[V], error) {
	if c, ok := a.cache[key]; ok {
		return c, nil
	}
	c := &cached[V]{}
	if a.fresh && !a.unsure[key] {
		a.cache[key] = c
		return c, nil
	}
	// From the leader: a lagging replica's older revision would only fail
	// the compare-and-set, again and again until the replica caught up.
	value, revision, err := jetstreamx.KVGet(ctx, a.js, a.gen.kv, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return nil, fmt.Errorf("projection %s: get %q: %w", a.p.Name, key, err)
	default:
		if err := json.Unmarshal(value, &c.rec); err != nil {
			c.corrupt = fmt.Errorf("stored value does not decode: %w", err)
		}
		c.revision = revision
	}
	delete(a.unsure, key)
	a.cache[key] = c
	return c, nil
}

// write stores every changed value with compare-and-set, pipelined. It
// writes nothing if any value is too large to store: the batch is then
// applied again measuring those keys (see careful).
func (a *applier[V]) write(ctx context.Context, dirty map[string]*cached[V]) error {
	type pending struct {
		key  string
		c    *cached[V]
		data []byte
		ack  jetstream.PubAckFuture
	}
	writes := make([]pending, 0, len(dirty))
	var oversize []string
	for key, c := range dirty {
		data, err := json.Marshal(c.rec)
		// A careful key's parked record holds its last good value, read
		// from the bucket or measured: not checked again, as the few bytes
		// of parked_since could otherwise tip it over, for ever.
		if err != nil || (len(data) > a.maxValue && !(a.careful[key] && c.rec.ParkedSince != 0)) {
			oversize = append(oversize, key)
		}
		writes = append(writes, pending{key: key, c: c, data: data})
	}
	if len(oversize) > 0 {
		return &oversizeError{keys: oversize}
	}
	var errs []error
	for window := range slices.Chunk(writes, writeWindow) {
		for i, w := range window {
			ack, err := a.js.PublishAsync("$KV."+a.gen.bucket+"."+w.key, w.data, jetstream.WithExpectLastSequencePerSubject(w.c.revision))
			if err != nil {
				return fmt.Errorf("projection %s: write %q: %w", a.p.Name, w.key, err)
			}
			window[i].ack = ack
		}
		for _, w := range window {
			select {
			case ack := <-w.ack.Ok():
				w.c.revision = ack.Sequence
			case err := <-w.ack.Err():
				var apiErr *jetstream.APIError
				if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
					err = errConflict
				}
				errs = append(errs, err)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return errors.Join(errs...)
}

// runLoop pulls and applies batches until ctx ends, then unpins. A batch in
// hand is always finished (applied and acknowledged) or handed back (nak)
// before the pin is released, and the last pull request is left to expire
// rather than cancelled: the server could still deliver to a cancelled one,
// and those events would wait out AckWait while the next runner went ahead.
func runLoop[V any](ctx context.Context, a *applier[V], o Options, progress *progressTracker, catchUp *CatchUp) {
	logger := o.Logger.With("projection", a.p.Name, "generation", a.gen.number)
	defer func() {
		// Hand the pin to another runner at once rather than after PinnedTTL.
		unpinCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if stream, err := a.js.Stream(unpinCtx, eventstore.StreamName); err == nil {
			stream.UnpinConsumer(unpinCtx, a.gen.bucket, group)
		}
	}()
	// size shrinks for good when a part cannot be applied in time.
	size := o.MaxBatch
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		batch, err := fetchBatch(a.gen.consumer, o)
		if err != nil {
			logger.Warn("fetch", "err", err)
			progress.fail(fmt.Errorf("fetch: %w", err))
			backoff = wait(ctx, backoff)
			continue
		}
		if len(batch) == 0 {
			continue
		}
		// A batch is applied in parts of at most size events, each
		// acknowledged when applied.
		for len(batch) > 0 {
			part := batch[:min(len(batch), size)]
			err := applyBatch(ctx, a, part, o, progress, logger)
			if errors.Is(err, errTooSlow) {
				size = max(len(part)/2, o.BatchSize)
				logger.Warn("apply batch: too slow; applying smaller parts", "events", len(part), "part", size, "err", err)
				continue
			}
			if err != nil {
				// Stopping with a batch that would not apply: hand it back
				// so that it is redelivered, in order, before anything newer.
				for _, m := range batch {
					m.Nak()
				}
				return
			}
			batch = batch[len(part):]
			last := part[len(part)-1]
			// Not waited for: the server takes this connection's messages in
			// order, so the next pull (or the unpin) comes after it; one
			// lost with the connection is redelivered after AckWait, and
			// skipped as already applied.
			if err := last.Ack(); err != nil {
				logger.Warn("ack batch", "err", err)
				continue
			}
			backoff = 0
			if meta, err := last.Metadata(); err == nil {
				progress.set(meta.Sequence.Stream, len(part))
				// The total is the position plus the events pending for this
				// projection: the stream's last sequence when it reads every
				// subject.
				catchUp.Observe(meta.Sequence.Stream, meta.Sequence.Stream+meta.NumPending)
			}
		}
	}
}

// applyBatch applies until it sticks: a conflict retries at once on fresh
// values, values too large to store at once measuring those keys (which
// parks the events that made them so), other failures back off; the batch
// stays unacknowledged meanwhile.
// Once ctx ends it makes one last attempt and reports its error. A batch
// larger than BatchSize that does not apply within AckWait/2 is
// errTooSlow, to be applied in smaller parts: retried whole, it would time
// out again, for ever.
func applyBatch[V any](ctx context.Context, a *applier[V], batch []jetstream.Msg, o Options, progress *progressTracker, logger *slog.Logger) error {
	backoff := time.Duration(0)
	for {
		applyCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.AckWait/2)
		err := a.apply(applyCtx, batch)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if errors.Is(err, context.DeadlineExceeded) && len(batch) > o.BatchSize {
			return fmt.Errorf("%w: %w", errTooSlow, err)
		}
		if oversize, ok := errors.AsType[*oversizeError](err); ok {
			for _, key := range oversize.keys {
				a.careful[key] = true
			}
			continue
		}
		if !errors.Is(err, errConflict) {
			logger.Error("apply batch", "err", err)
			progress.fail(fmt.Errorf("apply batch: %w", err))
			backoff = wait(ctx, backoff)
		}
	}
}

// fetchBatch waits for the next event, then pulls as many more as the
// server reports pending, up to MaxBatch. (A pull for more events than are
// there would wait out its expiry before returning: a second per event when
// traffic is light.)
func fetchBatch(cons jetstream.Consumer, o Options) ([]jetstream.Msg, error) {
	batch, err := fetch(cons, 1)
	if err != nil {
		return nil, err
	}
	for len(batch) > 0 && len(batch) < o.MaxBatch {
		meta, err := batch[len(batch)-1].Metadata()
		if err != nil || meta.NumPending == 0 {
			break
		}
		// An error here ends the batch early; the messages in hand stay in it
		// (dropping them would leave them pending while newer ones went ahead).
		more, err := fetch(cons, int(min(meta.NumPending, uint64(o.BatchSize), uint64(o.MaxBatch-len(batch)))))
		if err != nil || len(more) == 0 {
			break
		}
		batch = append(batch, more...)
	}
	return batch, nil
}

// fetch pulls n events, waiting at most a second for them: short enough to
// keep the pin fresh and to stop promptly.
func fetch(cons jetstream.Consumer, n int) ([]jetstream.Msg, error) {
	batch, err := cons.Fetch(n, jetstream.FetchPriorityGroup(group), jetstream.FetchMaxWait(time.Second))
	if err != nil {
		return nil, err
	}
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	// A pin that moved to another runner is the normal state of a standby.
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrPinIDMismatch) && len(msgs) == 0 {
		return nil, err
	}
	return msgs, nil
}

func wait(ctx context.Context, backoff time.Duration) time.Duration {
	backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
	t := time.NewTimer(backoff)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	return backoff
}

// progressTracker lets Wait block until a sequence has been applied here,
// counts the events applied here, and keeps the last error met.
type progressTracker struct {
	mu      sync.Mutex
	applied uint64 // the highest sequence applied here
	events  uint64 // how many events were applied here
	changed chan struct{}
	err     error // the last fetch or apply error, at errAt
	errAt   time.Time
}

// fail records err as the last error.
func (p *progressTracker) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err, p.errAt = err, time.Now().UTC()
}

// lastError is the last error recorded and when; "" if none.
func (p *progressTracker) lastError() (string, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		return "", time.Time{}
	}
	return p.err.Error(), p.errAt
}

func newProgress() *progressTracker { return &progressTracker{changed: make(chan struct{})} }

// set records that events more events were applied here, up to sequence
// seq.
func (p *progressTracker) set(seq uint64, events int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events += uint64(events)
	if seq > p.applied {
		p.applied = seq
		close(p.changed)
		p.changed = make(chan struct{})
	}
}

func (p *progressTracker) get() (uint64, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.applied, p.changed
}

// count is how many events were applied here.
func (p *progressTracker) count() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.events
}
