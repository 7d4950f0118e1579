package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ironstar/es"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMiddlewareLabelsByRoutePatternMethodAndStatus(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewHTTP(reg)
	r := chi.NewRouter()
	r.Use(m.Middleware)
	r.Get("/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		if chi.URLParam(r, "id") == "missing" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok"))
	})

	for _, path := range []string{"/items/1", "/items/2", "/items/missing", "/no/such/page"} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/items/1", nil))

	want := `
# HELP ironstar_http_requests_total HTTP requests answered, by route pattern, method and status.
# TYPE ironstar_http_requests_total counter
ironstar_http_requests_total{method="GET",route="/items/{id}",status="200"} 2
ironstar_http_requests_total{method="GET",route="/items/{id}",status="404"} 1
ironstar_http_requests_total{method="GET",route="unmatched",status="404"} 1
ironstar_http_requests_total{method="other",route="unmatched",status="405"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ironstar_http_requests_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.duration); n != 3 {
		t.Errorf("duration series = %d, want 3 (route and method, not status)", n)
	}
}

func TestStatusLabel(t *testing.T) {
	for code, want := range map[int]string{0: "200", 204: "204", 599: "599", 600: "other", 42: "other"} {
		if got := statusLabel(code); got != want {
			t.Errorf("statusLabel(%d) = %q, want %q", code, got, want)
		}
	}
}

// A command and a stream count under the feature whose routes ran them;
// outside any, a command under its aggregate type and a stream under
// "none"; every feature's series exist from the start.
func TestCommandsAndStreamsCountUnderTheirFeature(t *testing.T) {
	m := New([]string{"todo", "about"})
	r := chi.NewRouter()
	r.With(WithFeature("todo")).Get("/todos", func(w http.ResponseWriter, r *http.Request) {
		m.Commands.CommandHandled(r.Context(), "list", es.Stored, time.Millisecond)
		stream := m.Streams.Opened(r)
		stream.Sent()
		stream.Dropped()
		stream.Closed()
		m.Streams.Opened(r) // still open
	})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/todos", nil))
	m.Commands.CommandHandled(t.Context(), "list", es.Rejected, time.Millisecond)

	for _, tc := range []struct {
		c    prometheus.Collector
		want float64
	}{
		{m.Commands.total.WithLabelValues("todo", "stored"), 1},
		{m.Commands.total.WithLabelValues("list", "rejected"), 1},
		{m.Commands.total.WithLabelValues("about", "conflict_retried"), 0},
		{m.Streams.open.WithLabelValues("todo"), 1},
		{m.Streams.sent.WithLabelValues("todo"), 1},
		{m.Streams.dropped.WithLabelValues("todo"), 1},
	} {
		if got := testutil.ToFloat64(tc.c); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.c.(prometheus.Metric).Desc(), got, tc.want)
		}
	}
	// 2 features × 6 outcomes, and the one of an aggregate outside a request.
	if n := testutil.CollectAndCount(m.Commands.total); n != 2*len(es.Outcomes)+1 {
		t.Errorf("command series = %d, want %d", n, 2*len(es.Outcomes)+1)
	}
}
