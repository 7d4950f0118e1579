package analytics

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"ironstar/features/analytics/dashboard"
	"ironstar/features/feature"
	"ironstar/nats/jetstreamx"
	"ironstar/nats/leader"
)

// checkEvery is how often the page's stream asks whether an engine holds
// the lease, and how soon it sees the dashboard's bucket once it exists.
const checkEvery = 2 * time.Second

// status is what the page shows: the newest dashboard, and whether an
// engine is running to keep it current.
type status struct {
	Dashboard dashboard.Dashboard
	Running   bool
}

// engineWatch follows the engine from the web side.
type engineWatch struct {
	// holder asks who holds the engine's lease (leader.Holder).
	holder func(ctx context.Context) (string, bool, error)
	// values follows the published dashboard (jetstreamx.WatchValue).
	values func(ctx context.Context) <-chan []byte
	logger *slog.Logger
}

// newEngineWatch follows the engine through the app's JetStream.
func newEngineWatch(app *feature.App) engineWatch {
	return engineWatch{
		holder: func(ctx context.Context) (string, bool, error) {
			return leader.Holder(ctx, app.JS, dashboard.LeaderBucket, dashboard.LeaderKey)
		},
		values: func(ctx context.Context) <-chan []byte {
			return jetstreamx.WatchValue(ctx, app.JS, dashboard.Bucket, dashboard.Key, checkEvery)
		},
		logger: app.Logger,
	}
}

// running reports whether an engine holds the lease now.
func (e engineWatch) running(ctx context.Context) bool {
	_, ok, err := e.holder(ctx)
	return err == nil && ok
}

// watch is the hub's watch of the dashboard (there is one key): the
// published dashboard as it changes, and the engine's presence, checked
// every checkEvery.
func (e engineWatch) watch(ctx context.Context, _ string) (<-chan status, error) {
	values := e.values(ctx)
	out := make(chan status, 1)
	go func() {
		defer close(out)
		tick := time.NewTicker(checkEvery)
		defer tick.Stop()
		s := status{Running: e.running(ctx)}
		for {
			select {
			case <-ctx.Done():
				return
			case v, ok := <-values:
				if !ok {
					return
				}
				s.Dashboard = dashboard.Dashboard{}
				if v != nil {
					if err := json.Unmarshal(v, &s.Dashboard); err != nil {
						e.logger.Error("analytics: the published dashboard does not decode", "err", err)
					}
				}
			case <-tick.C:
				running := e.running(ctx)
				if running == s.Running {
					continue
				}
				s.Running = running
			}
			select { // keep only the newest
			case <-out:
			default:
			}
			out <- s
		}
	}()
	return out, nil
}
