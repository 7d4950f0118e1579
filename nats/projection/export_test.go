package projection

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
)

// CleanUpListed deletes leftovers of one projection of the app listed
// earlier, as Cleanup does once it holds the projection's lock: tests hand
// it a listing a rebuild made stale, the interleaving a cleanup running
// beside a rebuild can meet.
func CleanUpListed(ctx context.Context, js jetstream.JetStream, leftovers []Leftover) ([]Leftover, error) {
	metaKV, err := js.KeyValue(ctx, MetaBucket)
	if err != nil {
		return nil, err
	}
	locks, err := js.KeyValue(ctx, LockBucket)
	if err != nil {
		return nil, err
	}
	return cleanUp(ctx, js, metaKV, locks, true, leftovers)
}

// DeleteUnfinished is what a rebuild that read current from meta does
// before it builds generation current+1 (see deleteUnfinished).
func DeleteUnfinished(ctx context.Context, js jetstream.JetStream, name string, current uint64) error {
	metaKV, err := js.KeyValue(ctx, MetaBucket)
	if err != nil {
		return err
	}
	return deleteUnfinished(ctx, js, metaKV, name, current, slog.New(slog.DiscardHandler))
}
