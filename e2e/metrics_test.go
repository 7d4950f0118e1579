package e2e

import (
	"regexp"
	"strconv"
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

// scrape reads the app's metrics at addr: each sample's value under its
// name and labels as the exposition writes them (labels sorted by name),
// e.g. `ironstar_sse_streams_open{feature="todo"}`.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	res, body := get(t, "http://"+addr+"/metrics")
	if res.StatusCode != 200 {
		t.Fatalf("GET /metrics = %d\n%s", res.StatusCode, body)
	}
	samples := map[string]float64{}
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}
