package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

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
			Namespace: Namespace,
			Name:      "http_requests_total",
			Help:      "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace,
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
