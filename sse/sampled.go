package sse

import (
	"context"
	"time"
)

// Sampled is a watch for FromChannel of a value that is sampled rather
// than followed (the host's load, the projections' status): sample now,
// then every interval, each sample bounded by interval, until ctx ends
// (the hub ends it when the key's last stream closes: no page open, no
// sampling). A failed sample is skipped; a hub that has not taken the last
// sample gets the newest instead. The channel closes when sampling stops.
func Sampled[T any](interval time.Duration, sample func(context.Context) (T, error)) func(ctx context.Context, key string) (<-chan T, error) {
	return func(ctx context.Context, _ string) (<-chan T, error) {
		out := make(chan T, 1)
		go func() {
			defer close(out)
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				sampleCtx, cancel := context.WithTimeout(ctx, interval)
				value, err := sample(sampleCtx)
				cancel()
				if err == nil {
					select { // keep only the newest
					case <-out:
					default:
					}
					out <- value
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
		return out, nil
	}
}
