package engine

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ironstar/metrics"
)

// collector reports, at each scrape, the engine's copy (its checkpoint and
// how far behind the stream it is) and whether it publishes.
type collector struct {
	store      *Store
	events     Follower
	publishing *atomic.Bool

	checkpoint, lag, leading *prometheus.Desc
}

func newCollector(store *Store, events Follower, publishing *atomic.Bool) *collector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "analytics", name), help, nil, nil)
	}
	return &collector{
		store: store, events: events, publishing: publishing,
		checkpoint: desc("checkpoint", "The stream sequence up to which this engine's DuckDB copy holds every event."),
		lag:        desc("lag_events", "Events stored in the stream and not yet in this engine's copy."),
		leading:    desc("publishing", "1 while this engine holds the lease and publishes the dashboard, else 0."),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.checkpoint
	ch <- c.lag
	ch <- c.leading
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	checkpoint := c.store.Checkpoint()
	ch <- prometheus.MustNewConstMetric(c.checkpoint, prometheus.GaugeValue, float64(checkpoint))
	leading := 0.0
	if c.publishing.Load() {
		leading = 1
	}
	ch <- prometheus.MustNewConstMetric(c.leading, prometheus.GaugeValue, leading)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if last, err := c.events.LastSequence(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(last-min(checkpoint, last)))
	}
}
