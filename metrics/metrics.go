// Package metrics measures the app for Prometheus and serves what it
// measured, with the Go runtime and process metrics, on a listener of its
// own (METRICS_ADDR): HTTP requests, commands, SSE streams, projections,
// NATS and the event store. docs/09-operations.md lists every family;
// grafana-dashboard.json, in this folder, charts them.
//
// Every label value is drawn from a bounded set, since each distinct
// combination is a time series Prometheus keeps: a route is chi's route
// pattern (never the raw path, which a client chooses), a feature or a
// projection is one of the app's own names, an outcome one of es.Outcomes.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes the app's metric names (and the analytics engine's).
// It is the app's name: cmd/new renames it with the rest of the template.
const Namespace = "ironstar"

// scrapeTimeout bounds the NATS requests one scrape makes (account, stream
// and consumer info), well inside Prometheus's default 10 s.
const scrapeTimeout = 5 * time.Second

// Metrics is every family the app exports, on a registry of their own.
type Metrics struct {
	Registry *prometheus.Registry
	HTTP     *HTTP
	Commands *Commands
	Streams  *Streams
}

// New registers the app's metrics, with features' series (commands by
// outcome, streams) present at zero from the start, so that a rate or a
// dashboard panel shows 0 rather than nothing for a feature not used yet.
func New(features []string) *Metrics {
	reg := NewRegistry()
	return &Metrics{
		Registry: reg,
		HTTP:     NewHTTP(reg),
		Commands: newCommands(reg, features),
		Streams:  newStreams(reg, features),
	}
}

// NewRegistry returns a registry of the Go runtime and process collectors.
// It is not Prometheus's global default registry, so no library's metrics
// appear unasked.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Server returns a server of reg's metrics at /metrics, for Prometheus to
// scrape on a private interface: never on the app's port.
func Server(reg *prometheus.Registry) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}

// noFeature is the feature label of a stream no feature's route opened (the
// development reload stream).
const noFeature = "none"

type featureKey struct{}

// WithFeature is middleware that names the feature whose routes a request
// reached, for the commands it runs and the streams it opens to be counted
// under.
func WithFeature(name string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), featureKey{}, name)))
		})
	}
}

// featureOf is the feature WithFeature named in ctx, or "none".
func featureOf(ctx context.Context) string {
	if name, ok := ctx.Value(featureKey{}).(string); ok {
		return name
	}
	return noFeature
}
