package projection

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats/eventstore"
)

// Leftovers.
//
// A rebuild deletes the generation it replaced, but a rebuild that died
// leaves its half-built generation, a deletion can fail, and a renamed or
// removed projection leaves everything it had: its consumer, which keeps
// the stream's messages accounted for, and its buckets, which keep disk.
// Leftovers lists them, by name, against the projections the app has;
// Cleanup deletes what it lists. Neither is automatic: during a rolling
// deploy the old instances may still run a projection the new code
// renamed, so removing them is an operator's decision.

// Leftover is a consumer, bucket or meta key named like a projection's that
// no projection of the app uses.
type Leftover struct {
	// Kind is "consumer", "bucket" or "meta key".
	Kind string `json:"kind"`
	// Name is the consumer's or bucket's name, or the meta key.
	Name       string `json:"name"`
	Projection string `json:"projection"`
	// Generation is the generation it belongs to (0 for a meta key).
	Generation uint64 `json:"generation,omitempty"`
	// Reason says why it is left over.
	Reason string `json:"reason"`
}

// Reasons a resource is left over.
const (
	reasonUnknown = "no projection of this app has this name"
	reasonOld     = "not the current generation"
)

// parseResource splits a consumer or bucket name made by resourceName or
// parkedBucketName into the projection's name and the generation.
func parseResource(resource string) (name string, generation uint64, ok bool) {
	rest, ok := strings.CutPrefix(resource, "proj_")
	if !ok {
		return "", 0, false
	}
	rest = strings.TrimSuffix(rest, "_parked")
	i := strings.LastIndexByte(rest, '_')
	if i < 0 {
		return "", 0, false
	}
	generation, err := strconv.ParseUint(rest[i+1:], 10, 64)
	if err != nil || generation == 0 || !validName.MatchString(rest[:i]) {
		return "", 0, false
	}
	return rest[:i], generation, true
}

// Leftovers lists the consumers on the event stream, buckets and meta keys
// of projections that are not among names (the app's projections), and
// those of names' generations other than the current one and the one a
// rebuild is building. Only names made by this package are considered.
func Leftovers(ctx context.Context, js jetstream.JetStream, names []string) ([]Leftover, error) {
	current := map[string]uint64{} // generation in use, by projection
	building := map[string]uint64{}
	var out []Leftover
	metaKV, err := js.KeyValue(ctx, MetaBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil // no projection ever ran
	}
	if err != nil {
		return nil, fmt.Errorf("projection: leftovers: %w", err)
	}
	keys, err := metaKV.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("projection: leftovers: list meta keys: %w", err)
	}
	for name := range keys.Keys() {
		if !slices.Contains(names, name) {
			out = append(out, Leftover{Kind: "meta key", Name: name, Projection: name, Reason: reasonUnknown})
			continue
		}
		entry, err := metaKV.Get(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("projection: leftovers: read meta of %s: %w", name, err)
		}
		m, err := decodeMeta(entry.Value())
		if err != nil {
			return nil, fmt.Errorf("projection %s: %w", name, err)
		}
		current[name] = m.Generation
	}
	if locks, err := js.KeyValue(ctx, LockBucket); err == nil {
		for _, name := range names {
			progress, err := readLock(ctx, locks, name)
			if err != nil {
				return nil, err
			}
			if progress != nil {
				building[name] = progress.Generation
			}
		}
	} else if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("projection: leftovers: %w", err)
	}
	// classify says why a resource is left over; "" if it is in use. A
	// projection of the app without a meta key yet is starting: its
	// resources are its own.
	classify := func(resource string) (string, string, uint64) {
		name, generation, ok := parseResource(resource)
		switch {
		case !ok:
			return "", "", 0
		case !slices.Contains(names, name):
			return reasonUnknown, name, generation
		case current[name] == 0, generation == current[name], generation == building[name]:
			return "", name, generation
		default:
			return reasonOld, name, generation
		}
	}
	stream, err := js.Stream(ctx, eventstore.StreamName)
	if err != nil {
		return nil, fmt.Errorf("projection: leftovers: %w", err)
	}
	consumers := stream.ConsumerNames(ctx)
	for resource := range consumers.Name() {
		if reason, name, generation := classify(resource); reason != "" {
			out = append(out, Leftover{Kind: "consumer", Name: resource, Projection: name, Generation: generation, Reason: reason})
		}
	}
	if err := consumers.Err(); err != nil {
		return nil, fmt.Errorf("projection: leftovers: list consumers: %w", err)
	}
	buckets := js.KeyValueStoreNames(ctx)
	for resource := range buckets.Name() {
		if reason, name, generation := classify(resource); reason != "" {
			out = append(out, Leftover{Kind: "bucket", Name: resource, Projection: name, Generation: generation, Reason: reason})
		}
	}
	if err := buckets.Error(); err != nil {
		return nil, fmt.Errorf("projection: leftovers: list buckets: %w", err)
	}
	slices.SortFunc(out, func(a, b Leftover) int {
		return cmp.Or(cmp.Compare(a.Projection, b.Projection), cmp.Compare(a.Generation, b.Generation),
			cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

// Cleanup deletes what Leftovers lists and returns what it deleted. Each
// projection's leftovers are deleted while Cleanup holds its rebuild lock,
// and only after it has read the projection's current generation again:
// a rebuild that swapped after the listing made a listed generation the
// serving one. A projection whose lock another holds (a rebuild under way)
// is skipped; its leftovers stay listed for the next cleanup. It stops at
// the first deletion that fails.
func Cleanup(ctx context.Context, js jetstream.JetStream, names []string) ([]Leftover, error) {
	leftovers, err := Leftovers(ctx, js, names)
	if err != nil || len(leftovers) == 0 {
		return nil, err
	}
	metaKV, err := js.KeyValue(ctx, MetaBucket)
	if err != nil {
		return nil, fmt.Errorf("projection: cleanup: %w", err)
	}
	locks, err := cleanupLocks(ctx, js, metaKV)
	if err != nil {
		return nil, fmt.Errorf("projection: cleanup: %w", err)
	}
	var removed []Leftover
	for len(leftovers) > 0 { // sorted by projection
		end := 1
		for end < len(leftovers) && leftovers[end].Projection == leftovers[0].Projection {
			end++
		}
		deleted, err := cleanUp(ctx, js, metaKV, locks, slices.Contains(names, leftovers[0].Projection), leftovers[:end])
		removed = append(removed, deleted...)
		if err != nil && !errors.Is(err, ErrRebuilding) {
			return removed, err
		}
		leftovers = leftovers[end:]
	}
	return removed, nil
}

// cleanupLocks opens the rebuild locks' bucket. Every runner creates it;
// an app that starts no projection (its leftovers are those of projections
// it no longer has) may not have it yet: it is made then with the meta
// bucket's replicas, as a runner would.
func cleanupLocks(ctx context.Context, js jetstream.JetStream, metaKV jetstream.KeyValue) (jetstream.KeyValue, error) {
	locks, err := js.KeyValue(ctx, LockBucket)
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return locks, err
	}
	status, err := metaKV.Status(ctx)
	if err != nil {
		return nil, err
	}
	replicas := 1
	if s, ok := status.(*jetstream.KeyValueBucketStatus); ok {
		replicas = s.StreamInfo().Config.Replicas
	}
	return lockBucket(ctx, js, replicas)
}

// cleanUp deletes the leftovers of one projection under its rebuild lock,
// but those of the generation its meta names now if the app has it (known),
// and returns what it deleted; ErrRebuilding if another holds the lock.
func cleanUp(ctx context.Context, js jetstream.JetStream, metaKV, locks jetstream.KeyValue, known bool, leftovers []Leftover) ([]Leftover, error) {
	name := leftovers[0].Projection
	lock, err := acquireLock(ctx, locks, name, 0, 0)
	if err != nil {
		return nil, err
	}
	// A lock left behind expires within lockTTL; Cleanup has no logger.
	defer lock.release(ctx, slog.New(slog.DiscardHandler))
	var current uint64
	if known {
		m, _, err := readMeta(ctx, js, metaKV, name)
		if err != nil {
			return nil, fmt.Errorf("projection: cleanup: %w", err)
		}
		current = m.Generation
	}
	var removed []Leftover
	for _, l := range leftovers {
		if known && l.Generation == current {
			continue
		}
		switch l.Kind {
		case "consumer":
			err = js.DeleteConsumer(ctx, eventstore.StreamName, l.Name)
			if errors.Is(err, jetstream.ErrConsumerNotFound) {
				err = nil
			}
		case "bucket":
			err = js.DeleteKeyValue(ctx, l.Name)
			if errors.Is(err, jetstream.ErrBucketNotFound) {
				err = nil
			}
		case "meta key":
			err = metaKV.Purge(ctx, l.Name)
		}
		if err != nil {
			return removed, fmt.Errorf("projection: delete %s %s: %w", l.Kind, l.Name, err)
		}
		removed = append(removed, l)
	}
	return removed, nil
}
