// Package metrics counts the app's HTTP requests for Prometheus and serves
// them, with the Go runtime and process metrics, on a listener of their own.
//
// Every label value is drawn from a bounded set, since each distinct
// combination is a time series Prometheus keeps: the route is chi's route
// pattern (never the raw path, which a client chooses), an unmatched path is
// "unmatched", the method is one of the standard ones or "other", and the
// status is a three-digit code.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes the app's metric names. It is the app's name: cmd/new
// renames it with the rest of the template.
const namespace = "ironstar"

// unmatchedRoute is the route label of a request no route matched.
const unmatchedRoute = "unmatched"

// HTTP holds the request metrics the router's middleware records.
type HTTP struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewHTTP registers the request metrics with reg.
func NewHTTP(reg prometheus.Registerer) *HTTP {
	m := &HTTP{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "http_requests_total",
			Help:      "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "http_request_duration_seconds",
			Help:      "Time to answer an HTTP request, by route pattern and method; for an SSE stream, the stream's life.",
			Buckets:   prometheus.DefBuckets,
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// Middleware records each request when its handler returns. It must run
// inside chi's router (as r.Use middleware), where the route context exists.
// The route pattern is read after the handler ran, once chi has matched the
// whole route. An SSE stream counts like any request; its duration is the
// stream's life, which skews the histogram's upper buckets for the stream
// routes.
//
// It reuses the status-recording writer of an outer middleware when there is
// one (the router's request logger), so it adds no wrapper of its own.
func (m *HTTP) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww, ok := w.(middleware.WrapResponseWriter)
		if !ok {
			ww = middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		}
		next.ServeHTTP(ww, r)

		route := unmatchedRoute
		if rctx := chi.RouteContext(r.Context()); rctx != nil {
			if pattern := rctx.RoutePattern(); pattern != "" {
				route = pattern
			}
		}
		method := methodLabel(r.Method)
		m.requests.WithLabelValues(route, method, statusLabel(ww.Status())).Inc()
		m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
	})
}

// methodLabel is method if it is a standard HTTP method, else "other".
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "other"
}

// statusLabels are the status labels from 100 to 599, made once so that
// labelling a request allocates no string.
var statusLabels = func() []string {
	labels := make([]string, 600)
	for code := 100; code < len(labels); code++ {
		labels[code] = strconv.Itoa(code)
	}
	return labels
}()

// statusLabel is the label of status code: a handler that wrote nothing
// answered 200; a code outside 100-599 is "other".
func statusLabel(code int) string {
	if code == 0 {
		code = http.StatusOK
	}
	if code < 100 || code >= len(statusLabels) {
		return "other"
	}
	return statusLabels[code]
}

// NewRegistry returns a registry of the Go runtime and process collectors,
// to which NewHTTP adds the request metrics. It is not Prometheus's global
// default registry, so no library's metrics appear unasked.
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
