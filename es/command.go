package es

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"

	"ironstar/internal/lru"
)

// DefaultMaxAttempts bounds Handle's load → decide → append loop when
// writers race on one aggregate.
const DefaultMaxAttempts = 10

// maxBackoff caps the pause between two attempts.
const maxBackoff = 250 * time.Millisecond

// Storage is what every Handler stores through: the event store, the
// snapshot store and the registry that encodes events. The composition root
// builds one and every feature builds its handlers from it with NewHandler,
// so that every aggregate is snapshotted without a feature opting in: a
// counter anyone can increment would otherwise cost more with every event.
type Storage struct {
	Store     Store
	Snapshots SnapshotStore
	Registry  *Registry
	// SnapshotEvery is Handler.SnapshotEvery (DefaultSnapshotEvery if 0).
	SnapshotEvery int
	// Logger is Handler.Logger (nil: nothing is logged).
	Logger *slog.Logger
	// CacheSize is Handler.CacheSize: DefaultCacheSize if 0, no cache if
	// negative.
	CacheSize int
	// Observer is Handler.Observer (nil: none).
	Observer Observer
}

// NewHandler returns the Handler of one kind of aggregate, snapshotted in
// st.Snapshots. schema is its SnapshotSchema: the version of the shape of
// S, to bump when S changes.
func NewHandler[S, C, E any](st Storage, d Decider[S, C, E], schema int) *Handler[S, C, E] {
	return &Handler[S, C, E]{
		Store: st.Store, Registry: st.Registry, Decider: d,
		Snapshots: st.Snapshots, SnapshotEvery: st.SnapshotEvery, SnapshotSchema: schema,
		Logger: st.Logger, CacheSize: cacheSize(st.CacheSize), Observer: st.Observer,
	}
}

func cacheSize(n int) int {
	switch {
	case n == 0:
		return DefaultCacheSize
	case n < 0:
		return 0
	}
	return n
}

// Handler runs commands for one kind of aggregate. Commands on one
// aggregate run one at a time in this process (others wait their turn), so
// only writers in other processes can collide. A Handler must not be copied
// after its first use. NewHandler builds one from the app's Storage.
type Handler[S, C, E any] struct {
	Store    Store
	Registry *Registry
	Decider  Decider[S, C, E]
	// MaxAttempts bounds retries on ErrConcurrency; DefaultMaxAttempts if 0.
	MaxAttempts int

	// Snapshots keeps the folded state of every aggregate, so that a
	// command loads only the events since its last snapshot: its cost stays
	// flat however long the aggregate grows. The state S must survive a
	// JSON round trip (exported fields). Without it (nil, in some tests)
	// every command folds the aggregate's whole history.
	Snapshots SnapshotStore
	// SnapshotEvery is how many events may pile up on top of the last
	// snapshot before a new one is saved (DefaultSnapshotEvery if 0).
	SnapshotEvery int
	// SnapshotSchema versions the shape of S: bump it when S changes, and
	// older snapshots are ignored (and replaced) instead of misread.
	SnapshotSchema int
	// Logger gets what a command's caller cannot see: a snapshot that
	// failed to load, decode or save (warn; the command went on without
	// it, so nothing else would tell), and a stored event that does not
	// decode (error, with its aggregate and sequence). Nil: nothing.
	Logger *slog.Logger
	// CacheSize is how many aggregates this Handler remembers as their
	// last command here left them (state, version, latest command IDs: what
	// a snapshot holds), the least recently used forgotten first, so that a
	// command on one of them reads nothing from the stores (see Handle).
	// 0 (as in a Handler literal): none; NewHandler sets one. The state is
	// shared between commands: Evolve must return a new state rather than
	// change the one it is given (slices and maps included).
	CacheSize int
	// Observer, if set, is told how each command ended and how long it
	// took (the app's metrics).
	Observer Observer

	locks     streamLocks
	cacheOnce sync.Once
	cache     *lru.Cache[StreamID, *folded[S]]
}

// DefaultCacheSize is Storage.CacheSize's default. An aggregate costs its
// state and its latest command IDs (RecentCommands of them, up to
// RecentCommands+SnapshotEvery as loaded): a few KB for a long one.
const DefaultCacheSize = 10_000

// folded is an aggregate as a command finds it: its state, its version,
// its latest command IDs, and how many events were stored on it since its
// last snapshot. Commands on one aggregate run one at a time, so only the
// command holding its lock reads or changes its entry.
type folded[S any] struct {
	state         S
	version       uint64
	recent        recentCommands
	sinceSnapshot int
}

// recentCommands are the IDs of an aggregate's latest commands, as many as
// were loaded (its snapshot's and those stored since) or RecentCommands if
// fewer: a ring, in which a new ID replaces the oldest without allocating.
type recentCommands struct {
	ids   []string
	start int // the oldest, once the ring is full
}

func (r *recentCommands) contains(id string) bool { return slices.Contains(r.ids, id) }

func (r *recentCommands) add(id string) {
	if len(r.ids) < RecentCommands {
		r.ids = append(r.ids, id)
		return
	}
	r.ids[r.start] = id
	r.start = (r.start + 1) % len(r.ids)
}

// list returns the newest RecentCommands IDs, oldest first: what a
// snapshot remembers.
func (r *recentCommands) list() []string {
	out := make([]string, 0, len(r.ids))
	out = append(append(out, r.ids[r.start:]...), r.ids[:r.start]...)
	return out[max(0, len(out)-RecentCommands):]
}

// remembered returns the aggregate as this Handler last left it, if it
// still remembers it.
func (h *Handler[S, C, E]) remembered(stream StreamID) (*folded[S], bool) {
	if h.CacheSize <= 0 {
		return nil, false
	}
	h.cacheOnce.Do(func() { h.cache = lru.New[StreamID, *folded[S]](h.CacheSize) })
	return h.cache.Get(stream)
}

// DefaultSnapshotEvery is Handler.SnapshotEvery's default.
const DefaultSnapshotEvery = 100

// RecentCommands is how many command IDs a snapshot remembers, so that a
// command retried after a snapshot is still recognised as a duplicate.
//
// What holds: a command is recognised as long as it is among the
// aggregate's last RecentCommands commands (or was stored after the latest
// snapshot, so up to RecentCommands+SnapshotEvery-1 commands back). An
// older one, retried, is decided again; the store then still drops its
// events if they arrive within its duplicate window (JetStream's, 2
// minutes by default; memstore's, for ever), and Handle answers it as a
// duplicate, storing nothing: a single event is acknowledged at its old
// place; a batch JetStream refuses as a duplicate is a conflict, and the
// last attempt, which folds the whole history, finds the command (after
// the attempts' back-off, under a second). Retried later than both, it is
// stored again. A browser retries within seconds, inside the store's
// window however busy the aggregate is.
const RecentCommands = 100

// Result is what a handled command did.
type Result[S any] struct {
	// Version is the aggregate's version after the command.
	Version uint64
	// Events are the envelopes appended (none for a duplicate or a no-op).
	Events []Envelope
	// State is the aggregate's state after the command. The Handler may
	// remember it for the next command: read it, never change it.
	State S
	// Duplicate is true when meta.CommandID was already stored: nothing was
	// appended again.
	Duplicate bool
}

// Handle decides on cmd and appends the resulting events with the
// aggregate's version as the expected one. On ErrConcurrency it starts
// over, loading the aggregate again, up to MaxAttempts times. A command
// whose meta.CommandID is already among the aggregate's events is
// acknowledged without storing anything, so a retried or double-clicked
// command is harmless. The errors are Decide's own (business rules),
// ErrConcurrency after the last attempt, or a storage failure.
//
// An aggregate this Handler used recently is decided on as it remembers it
// (see CacheSize), reading nothing: the append's expected version proves
// that state current, or fails with ErrConcurrency (another process wrote),
// and the command is then decided again on the aggregate as loaded, at
// once and without spending an attempt. A refusal or a no-op on the
// remembered state proves nothing, so it is decided again on the loaded
// state too: only an append, or a duplicate, is answered from memory.
func (h *Handler[S, C, E]) Handle(ctx context.Context, stream StreamID, cmd C, meta Metadata) (Result[S], error) {
	if h.Observer == nil {
		res, _, err := h.handle(ctx, stream, cmd, meta)
		return res, err
	}
	start := time.Now()
	res, outcome, err := h.handle(ctx, stream, cmd, meta)
	h.Observer.CommandHandled(ctx, stream.Aggregate, outcome, time.Since(start))
	return res, err
}

// handle is Handle, which also says how the command ended.
func (h *Handler[S, C, E]) handle(ctx context.Context, stream StreamID, cmd C, meta Metadata) (Result[S], Outcome, error) {
	if meta.CommandID == "" {
		return Result[S]{}, Rejected, ErrMissingCommandID
	}
	if err := stream.Validate(); err != nil {
		return Result[S]{}, Rejected, err
	}
	unlock, err := h.locks.lock(ctx, stream)
	if err != nil {
		return Result[S]{}, Failed, err
	}
	defer unlock()
	attempts := h.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	agg, cached := h.remembered(stream)
	conflicts := 0
	for attempt := 1; ; {
		// The last attempt folds the whole history: a snapshot ahead of
		// the aggregate (its events restored from an older backup, say)
		// would otherwise make every append conflict, for ever. The full
		// load then replaces it.
		full := attempt > 1 && attempt == attempts
		if !cached {
			if agg, err = h.load(ctx, stream, !full); err != nil {
				return Result[S]{}, Failed, err
			}
			h.cache.Put(stream, agg)
		}
		if agg.recent.contains(meta.CommandID) {
			// From memory, the version and state are the ones this
			// process last saw; the command is stored either way.
			return Result[S]{Version: agg.version, State: agg.state, Duplicate: true}, Duplicate, nil
		}
		events, err := h.Decider.Decide(agg.state, cmd)
		if cached && (err != nil || len(events) == 0) {
			cached = false
			continue
		}
		if err != nil {
			return Result[S]{Version: agg.version, State: agg.state}, Rejected, err
		}
		if len(events) == 0 {
			return Result[S]{Version: agg.version, State: agg.state}, Unchanged, nil
		}
		res, err := h.append(ctx, stream, meta, agg, events, full)
		if !errors.Is(err, ErrConcurrency) {
			return res, appendOutcome(res, conflicts, err), err
		}
		conflicts++
		if cached { // what this process remembered was stale: reload at once
			cached = false
			continue
		}
		if attempt == attempts {
			return res, Failed, err
		}
		attempt++
		// Writers in several processes racing on one aggregate would keep
		// colliding if they all retried at once (and a replica that has not
		// caught up yet may serve the reload): back off exponentially, with
		// full jitter.
		pause := time.NewTimer(rand.N(min(maxBackoff, time.Millisecond<<attempt)))
		select {
		case <-ctx.Done():
			pause.Stop()
			return res, Failed, err
		case <-pause.C:
		}
	}
}

// appendOutcome is how a command ended whose append did not conflict (this
// time): after conflicts earlier ones.
func appendOutcome[S any](res Result[S], conflicts int, err error) Outcome {
	switch {
	case err != nil:
		return Failed
	case res.Duplicate:
		return Duplicate
	case conflicts > 0:
		return ConflictRetried
	}
	return Stored
}

// Outcome is how a command ended, as Handler.Observer is told.
type Outcome string

// The outcomes of a command.
const (
	// Stored: its events were appended at the first try.
	Stored Outcome = "stored"
	// ConflictRetried: its events were appended after another writer's
	// append made one or more tries conflict.
	ConflictRetried Outcome = "conflict_retried"
	// Duplicate: its command ID was already stored; nothing was appended.
	Duplicate Outcome = "duplicate"
	// Unchanged: it was decided to need no event; nothing was appended.
	Unchanged Outcome = "unchanged"
	// Rejected: the decider refused it (a business rule), or it was not a
	// valid command (no command ID, an invalid aggregate ID).
	Rejected Outcome = "rejected"
	// Failed: nothing was stored because the stores failed, every try
	// conflicted, or the caller gave up.
	Failed Outcome = "failed"
)

// Outcomes are every Outcome, for a metric to show each from the start.
var Outcomes = []Outcome{Stored, ConflictRetried, Duplicate, Unchanged, Rejected, Failed}

// Observer is told how each command a Handler ran ended: ctx is the
// command's, aggregate its stream's aggregate type.
type Observer interface {
	CommandHandled(ctx context.Context, aggregate string, outcome Outcome, took time.Duration)
}

// load reads the aggregate from the stores and folds it: from its snapshot
// if useSnapshot and it has a usable one, otherwise from its first event.
func (h *Handler[S, C, E]) load(ctx context.Context, stream StreamID, useSnapshot bool) (*folded[S], error) {
	state, after, recent := h.Decider.Initial, uint64(0), []string(nil)
	if useSnapshot {
		state, after, recent = h.snapshot(ctx, stream)
	}
	stored, version, err := h.Store.Load(ctx, stream, after)
	if err != nil {
		if errors.Is(err, ErrUndecodable) { // a message the store itself cannot read
			h.logger().Error("es: an event of the aggregate does not decode: no command on it can run", "aggregate", stream.String(), "err", err)
		}
		return nil, fmt.Errorf("load %s: %w", stream, err)
	}
	for _, env := range stored {
		e, err := DecodeAs[E](h.Registry, env)
		if err != nil {
			// Never skipped: a decision on the state without it could
			// undo what it recorded.
			h.logger().Error("es: an event of the aggregate does not decode: no command on it can run",
				"aggregate", stream.String(), "seq", env.Sequence, "type", env.Type, "version", env.Version, "err", err)
			return nil, fmt.Errorf("%w: %s at sequence %d: %w", ErrUndecodable, stream, env.Sequence, err)
		}
		state = h.Decider.Evolve(state, e)
		if n := len(recent); n == 0 || recent[n-1] != env.Meta.CommandID { // a command's events are adjacent
			recent = append(recent, env.Meta.CommandID)
		}
	}
	return &folded[S]{state: state, version: version, recent: recentCommands{ids: recent}, sinceSnapshot: len(stored)}, nil
}

// append stores the events decided on agg, expecting its version. The
// aggregate is then remembered as it is after them, or forgotten if the
// append failed. full says agg was folded from the first event: its
// snapshot is replaced, whatever it was.
func (h *Handler[S, C, E]) append(ctx context.Context, stream StreamID, meta Metadata, agg *folded[S], events []E, full bool) (Result[S], error) {
	state := agg.state
	envs := make([]Envelope, len(events))
	for i, e := range events {
		name, v, data, err := h.Registry.Encode(e)
		if err != nil {
			return Result[S]{}, err
		}
		envs[i] = Envelope{
			// Derived from the command ID, so a retried append of the same
			// command is recognised by the store's duplicate detection too;
			// and from the aggregate, since that detection spans the whole
			// store (JetStream's window is the stream's): the same command
			// ID on another aggregate is another command.
			ID:      stream.Aggregate + "." + stream.ID + "." + meta.CommandID + "." + strconv.Itoa(i),
			Stream:  stream,
			Type:    name,
			Version: v,
			Data:    data,
			Meta:    meta,
		}
		state = h.Decider.Evolve(state, e)
	}
	version, err := h.Store.Append(ctx, stream, agg.version, envs)
	if err != nil {
		h.cache.Remove(stream)
		return Result[S]{}, fmt.Errorf("append %s: %w", stream, err)
	}
	if version <= agg.version {
		// The store acknowledged the events at their old place: this
		// command was stored before, longer ago than the snapshot
		// remembers. Nothing changed, and no snapshot may be saved with
		// the events folded in twice.
		return Result[S]{Version: agg.version, State: agg.state, Duplicate: true}, nil
	}
	agg.recent.add(meta.CommandID)
	next := &folded[S]{state: state, version: version, recent: agg.recent, sinceSnapshot: agg.sinceSnapshot + len(envs)}
	if h.Snapshots != nil && (full || next.sinceSnapshot >= cmp.Or(h.SnapshotEvery, DefaultSnapshotEvery)) {
		if h.saveSnapshot(ctx, stream, state, version, next.recent.list()) {
			next.sinceSnapshot = 0
		}
	}
	h.cache.Put(stream, next)
	return Result[S]{Version: version, Events: envs, State: state}, nil
}

// snapshot returns the state to fold onto, the version it stands for, and
// the command IDs it remembers: the snapshot's if there is a usable one,
// otherwise the initial state at version 0. A snapshot that cannot be read
// is only a missed shortcut, never a failed command.
func (h *Handler[S, C, E]) snapshot(ctx context.Context, stream StreamID) (S, uint64, []string) {
	if h.Snapshots == nil {
		return h.Decider.Initial, 0, nil
	}
	snap, ok, err := h.Snapshots.LoadSnapshot(ctx, stream)
	if err != nil && ctx.Err() == nil {
		h.logger().Warn("es: snapshot load failed; folding the whole history", "aggregate", stream.String(), "err", err)
	}
	if err != nil || !ok || snap.Schema != h.SnapshotSchema {
		return h.Decider.Initial, 0, nil // an older schema is expected after a bump: not logged
	}
	var state S
	if err := json.Unmarshal(snap.State, &state); err != nil {
		h.logger().Warn("es: snapshot does not decode; folding the whole history", "aggregate", stream.String(), "version", snap.Version, "err", err)
		return h.Decider.Initial, 0, nil
	}
	return state, snap.Version, slices.Clone(snap.Commands)
}

// saveSnapshot stores state at version, best effort: it runs after the
// command succeeded, and a lost snapshot costs only a longer load (and is
// tried again on the next command). It reports whether it was saved.
func (h *Handler[S, C, E]) saveSnapshot(ctx context.Context, stream StreamID, state S, version uint64, commands []string) bool {
	data, err := json.Marshal(state)
	if err == nil {
		err = h.Snapshots.SaveSnapshot(ctx, stream, Snapshot{Version: version, Schema: h.SnapshotSchema, State: data, Commands: commands})
	}
	if err != nil && ctx.Err() == nil {
		h.logger().Warn("es: snapshot save failed; the next command loads more events", "aggregate", stream.String(), "version", version, "err", err)
	}
	return err == nil
}

// logger is Logger, or one that discards.
func (h *Handler[S, C, E]) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

// DecodeAs decodes env and asserts that the event is an E.
func DecodeAs[E any](r *Registry, env Envelope) (E, error) {
	var zero E
	decoded, err := r.Decode(env)
	if err != nil {
		return zero, err
	}
	e, ok := decoded.(E)
	if !ok {
		return zero, fmt.Errorf("%w: %q decodes to %T, which is not a %v", ErrUnknownEventType, env.Type, decoded, reflect.TypeFor[E]())
	}
	return e, nil
}
