package e2e

import (
	"regexp"
	"strings"
	"testing"
)

func TestMetricsServedOnTheirOwnListener(t *testing.T) {
	t.Parallel()
	metricsAddr := "127.0.0.1:" + freePort(t)
	a := startApp(t, appOptions{env: []string{"METRICS_ADDR=" + metricsAddr}})

	for range 2 {
		if res, _ := get(t, a.URL+"/about"); res.StatusCode != 200 {
			t.Fatalf("GET /about = %d", res.StatusCode)
		}
	}
	if res, _ := get(t, a.URL+"/no/such/page-4711"); res.StatusCode != 404 {
		t.Fatalf("GET /no/such/page-4711 = %d, want 404", res.StatusCode)
	}
	if res, _ := get(t, a.URL+"/metrics"); res.StatusCode != 404 {
		t.Errorf("the app's own port serves /metrics: %d, want 404", res.StatusCode)
	}

	res, body := get(t, "http://"+metricsAddr+"/metrics")
	if res.StatusCode != 200 {
		t.Fatalf("GET /metrics = %d\n%s", res.StatusCode, body)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^ironstar_http_requests_total\{method="GET",route="/about",status="200"\} 2$`),
		regexp.MustCompile(`(?m)^ironstar_http_requests_total\{method="GET",route="unmatched",status="404"\} [1-9]`),
		regexp.MustCompile(`(?m)^ironstar_http_request_duration_seconds_count\{method="GET",route="/about"\} 2$`),
		regexp.MustCompile(`(?m)^go_goroutines [1-9]`),
		regexp.MustCompile(`(?m)^process_resident_memory_bytes [0-9.e+]+$`),
	} {
		if !want.MatchString(body) {
			t.Errorf("/metrics has no line matching %s", want)
		}
	}
	if strings.Contains(body, "page-4711") {
		t.Error("/metrics labels a request with its raw path")
	}
}
