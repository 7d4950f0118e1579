package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"ironstar/nats/projection"
)

// projectionsCollector reports, at each scrape, where every projection
// stands (a consumer-info request each).
type projectionsCollector struct {
	projections []projection.Reporter

	position, lag, applied, generation, catchingUp *prometheus.Desc
}

// WatchProjections adds the projections' positions, lag and work to the
// metrics, asked of each at each scrape.
func (m *Metrics) WatchProjections(projections []projection.Reporter) {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "projection", name), help, []string{"projection"}, nil)
	}
	m.Registry.MustRegister(&projectionsCollector{
		projections: projections,
		position:    desc("position", "The stream sequence up to which the projection has applied every event of its subjects (by any instance)."),
		lag:         desc("lag_events", "Events of the projection's subjects not applied yet."),
		applied:     desc("events_applied_total", "Events this instance applied to the projection."),
		generation:  desc("generation", "The projection's generation (raised by a rebuild)."),
		catchingUp:  desc("catching_up", "1 while this instance's runner applies a backlog of at least a batch, else 0."),
	})
}

func (c *projectionsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.position, c.lag, c.applied, c.generation, c.catchingUp} {
		ch <- d
	}
}

func (c *projectionsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	for _, p := range c.projections {
		st, err := p.Status(ctx)
		ch <- prometheus.MustNewConstMetric(c.applied, prometheus.CounterValue, float64(st.Applied), st.Name)
		ch <- prometheus.MustNewConstMetric(c.generation, prometheus.GaugeValue, float64(st.Generation), st.Name)
		ch <- prometheus.MustNewConstMetric(c.catchingUp, prometheus.GaugeValue, boolValue(st.CatchingUp), st.Name)
		if err != nil {
			continue // NATS did not answer: no position, rather than a wrong one
		}
		ch <- prometheus.MustNewConstMetric(c.position, prometheus.GaugeValue, float64(st.Position), st.Name)
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(st.Lag), st.Name)
	}
}
