package projection

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats/jetstreamx"
)

// Parked events.
//
// An event a projection cannot apply — its envelope does not decode, Keys
// or Apply fails or panics, or the value it gives is too large for a KV
// value — would otherwise be retried for ever, and every event after it, for
// every key, would wait behind it. Instead the runner parks it: it records
// the event (sequence, key, error) in the generation's parked bucket, which
// every instance reads, logs it at error level once, and goes on.
//
// The key keeps its last good value: an event parked on a key is not in its
// value, and the record says so (parked_since). A later event for the key is
// folded on that last good value. That is the choice that lets a key recover
// without an operator: for a todo list, an add that could not be stored is
// missing while every later change shows; folding later events on nothing
// instead would lose the whole list. Once a later event applies, the key's
// record no longer says it is parked, and its parked entries are healed
// (deleted). An event that cannot be tied to a key (an envelope that does not
// decode, Keys failing) stays parked until a rebuild: the rebuilt generation
// has a parked bucket of its own, holding only what still fails.

// Parked is an event a projection could not apply to a key.
type Parked struct {
	Projection string `json:"projection"`
	Generation uint64 `json:"generation"`
	// Seq is the event's stream sequence.
	Seq uint64 `json:"seq"`
	// Key is the read-model key, empty when the event could not be tied to
	// one. Only a rebuild clears an event tied to no key, or to a key KV
	// cannot store.
	Key   string    `json:"key,omitempty"`
	Type  string    `json:"type,omitempty"`
	Error string    `json:"error"`
	At    time.Time `json:"at"`
}

// ErrDegraded means a projection has parked events that have not healed:
// some keys lack events, everything else is up to date.
var ErrDegraded = errors.New("projection: degraded")

// errTooLarge is a value larger than a KV value may be.
var errTooLarge = errors.New("value too large to store")

// panicError is a Keys or Apply that panicked: a bug in the fold.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// safely calls f, turning a panic into a panicError.
func safely[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	return f()
}

// parkedBucketName is the parked bucket of one generation. (No projection's
// generation bucket ends in a word, so the names cannot collide.)
func parkedBucketName(name string, generation uint64) string {
	return resourceName(name, generation) + "_parked"
}

// parkedID is an entry's key in the parked bucket: k.<hash of key>.<seq>, so
// that a key's entries can be listed when it heals, or e.<seq> for an event
// tied to no key.
func parkedID(p Parked, keyed bool) string {
	if !keyed {
		return "e." + strconv.FormatUint(p.Seq, 10)
	}
	return keyPrefix(p.Key) + strconv.FormatUint(p.Seq, 10)
}

func keyPrefix(key string) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	return fmt.Sprintf("k.%016x.", h.Sum64())
}

// parking is one event to park, before it is recorded.
type parking struct {
	Parked
	keyed bool
	err   error
}

// recordParked stores the entries of a batch before its values are written and
// logs each once: an entry that exists already (the batch is being
// re-applied after a conflict or a restart) is neither written nor logged
// again.
func (a *applier[V]) recordParked(ctx context.Context, entries []parking) error {
	for _, e := range entries {
		data, _ := json.Marshal(e.Parked)
		if _, err := a.gen.parked.Create(ctx, parkedID(e.Parked, e.keyed), data); errors.Is(err, jetstream.ErrKeyExists) {
			continue
		} else if err != nil {
			return fmt.Errorf("projection %s: park event %d: %w", a.p.Name, e.Seq, err)
		}
		attrs := []any{"projection", a.p.Name, "generation", a.gen.number, "seq", e.Seq, "key", e.Key, "type", e.Type, "err", e.err}
		if pe, ok := errors.AsType[*panicError](e.err); ok {
			attrs = append(attrs, "stack", string(pe.stack))
		}
		a.logger.Error("projection: parked an event it cannot apply; later events go on", attrs...)
	}
	return nil
}

// heal deletes key's entries before the sequence since (all if 0): a later
// event applied to the key. It is best effort: an entry left behind is
// recognised as healed by listParked.
func (a *applier[V]) heal(ctx context.Context, key string, since uint64) {
	prefix := keyPrefix(key)
	lister, err := a.gen.parked.ListKeysFiltered(ctx, prefix+"*")
	if err != nil {
		a.logger.Warn("projection: heal parked key", "projection", a.p.Name, "key", key, "err", err)
		return
	}
	defer lister.Stop()
	for id := range lister.Keys() {
		if seq, err := strconv.ParseUint(strings.TrimPrefix(id, prefix), 10, 64); err == nil && (since == 0 || seq < since) {
			a.gen.parked.Delete(ctx, id)
		}
	}
	a.logger.Info("projection: a later event healed a parked key", "projection", a.p.Name, "key", key)
}

// maxListed bounds how many parked entries Runner.Parked returns.
const maxListed = 1000

// listParked returns up to limit of a generation's parked entries that have
// not healed, in sequence order, and how many entries the bucket held. An
// entry whose key's record shows a later event applied is healed and, as
// the applier could not delete it (it stopped in between), deleted here.
//
// The sequence is in each entry's ID, so the entries are read in order and
// only until limit are found: a readiness probe, asking for one, reads one
// entry and its key's record however many are parked (and that record can
// be a value of nearly a megabyte, the very one that was too large).
func listParked(ctx context.Context, js jetstream.JetStream, gen *generation, limit int) ([]Parked, int, error) {
	// Status needs no consumer: the usual answer, none, is one request.
	if status, err := gen.parked.Status(ctx); err != nil {
		return nil, 0, err
	} else if status.Values() == 0 {
		return nil, 0, nil
	}
	lister, err := gen.parked.ListKeys(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer lister.Stop()
	type entryID struct {
		id  string
		seq uint64
	}
	var ids []entryID
	for id := range lister.Keys() {
		if seq, err := strconv.ParseUint(id[strings.LastIndexByte(id, '.')+1:], 10, 64); err == nil {
			ids = append(ids, entryID{id, seq})
		}
	}
	slices.SortFunc(ids, func(a, b entryID) int { return cmp.Compare(a.seq, b.seq) })
	// records are the keys' records read so far (nil: not readable).
	records := map[string]*record[json.RawMessage]{}
	var out []Parked
	for _, id := range ids {
		if len(out) == limit {
			break
		}
		entry, err := gen.parked.Get(ctx, id.id)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // healed meanwhile
		} else if err != nil {
			return nil, 0, err
		}
		var p Parked
		if err := json.Unmarshal(entry.Value(), &p); err != nil {
			return nil, 0, fmt.Errorf("parked entry %s: %w", id.id, err)
		}
		if strings.HasPrefix(id.id, "k.") {
			rec, ok := records[p.Key]
			if !ok {
				rec = readRecord(ctx, js, gen, p.Key)
				records[p.Key] = rec
			}
			if healed(rec, p.Seq) {
				gen.parked.Delete(ctx, id.id)
				continue
			}
		}
		out = append(out, p)
	}
	return out, len(ids), nil
}

// readRecord reads key's record, its value left undecoded; nil if it is
// not written yet or cannot be read.
func readRecord(ctx context.Context, js jetstream.JetStream, gen *generation, key string) *record[json.RawMessage] {
	value, _, err := jetstreamx.KVGet(ctx, js, gen.kv, key)
	if err != nil {
		return nil
	}
	var rec record[json.RawMessage]
	if json.Unmarshal(value, &rec) != nil {
		return nil
	}
	return &rec
}

// healed reports whether an event parked at seq on rec's key has since had
// an event applied after it: the record is at or past seq and no longer
// parked since seq or earlier. A record not written yet, or unreadable, is
// not healed.
func healed(rec *record[json.RawMessage], seq uint64) bool {
	return rec != nil && rec.Seq >= seq && (rec.ParkedSince == 0 || rec.ParkedSince > seq)
}
