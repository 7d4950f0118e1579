package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
