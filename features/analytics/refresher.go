package analytics

import (
	"context"
	"log/slog"
	"time"
)

// Refresher recomputes the dashboard for the pages that show it: once when
// the first page opens, then after new events (coalesced: at most every
// MinInterval) or when TTL has passed (the time window moves on), and not
// at all while no page is open.
type Refresher struct {
	compute     func(context.Context, time.Time) (Dashboard, error)
	logger      *slog.Logger
	changed     chan struct{}
	MinInterval time.Duration
	TTL         time.Duration
	now         func() time.Time
}

// NewRefresher returns a refresher of store's dashboard.
func NewRefresher(store *Store, logger *slog.Logger) *Refresher {
	return &Refresher{compute: store.Dashboard, logger: logger, changed: make(chan struct{}, 1), MinInterval: 300 * time.Millisecond, TTL: 10 * time.Second, now: time.Now}
}

// Notify says new events were stored. It never blocks.
func (r *Refresher) Notify() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// watch is the hub's watch of the dashboard (there is one key).
func (r *Refresher) watch(ctx context.Context, _ string) (<-chan Dashboard, error) {
	out := make(chan Dashboard, 1)
	go func() {
		defer close(out)
		ttl := time.NewTimer(0)
		defer ttl.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.changed:
			case <-ttl.C:
			}
			d, err := r.compute(ctx, r.now())
			if err != nil {
				if ctx.Err() == nil {
					r.logger.Error("analytics: dashboard", "err", err)
				}
			} else {
				select { // keep only the newest
				case <-out:
				default:
				}
				out <- d
			}
			ttl.Reset(r.TTL)
			// Coalesce: events arriving meanwhile make one refresh, later.
			select {
			case <-ctx.Done():
				return
			case <-time.After(r.MinInterval):
			}
		}
	}()
	return out, nil
}
