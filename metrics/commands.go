package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ironstar/es"
)

// Commands counts commands by the feature whose route ran them (a command
// run outside a request, a reactor's, by its aggregate type) and by how
// they ended (es.Outcome), and times them. It is every command handler's
// es.Observer (es.Storage.Observer).
type Commands struct {
	total    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newCommands(reg prometheus.Registerer, features []string) *Commands {
	c := &Commands{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "commands_total",
			Help:      "Commands handled, by feature and outcome (stored, conflict_retried, duplicate, unchanged, rejected, failed).",
		}, []string{"feature", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace,
			Name:      "command_duration_seconds",
			Help:      "Time to handle a command (load, decide, append), by feature and outcome.",
			Buckets:   []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"feature", "outcome"}),
	}
	reg.MustRegister(c.total, c.duration)
	for _, f := range features {
		for _, o := range es.Outcomes {
			c.total.WithLabelValues(f, string(o))
		}
	}
	return c
}

// CommandHandled counts and times one command (es.Observer).
func (c *Commands) CommandHandled(ctx context.Context, aggregate string, outcome es.Outcome, took time.Duration) {
	feature := featureOf(ctx)
	if feature == noFeature {
		feature = aggregate // from the app's code, so bounded like feature names
	}
	c.total.WithLabelValues(feature, string(outcome)).Inc()
	c.duration.WithLabelValues(feature, string(outcome)).Observe(took.Seconds())
}
