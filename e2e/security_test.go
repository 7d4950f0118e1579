package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"ironstar/features"
)

// TestEveryAnswerCarriesTheSecurityHeaders checks pages (every page of the
// navigation, from the feature list), assets, probes, errors and an SSE
// answer of the production binary for the security headers, and the static
// tree for listings and source maps.
func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	_, page := get(t, a.URL+"/about")
	bundle := scriptSrc.FindStringSubmatch(page)
	if bundle == nil {
		t.Fatalf("no Datastar bundle linked from /about:\n%s", page)
	}

	check := func(path string, res *http.Response) {
		t.Helper()
		h := res.Header
		csp := h.Get("Content-Security-Policy")
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" ||
			!strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s (%d): X-Content-Type-Options %q, Referrer-Policy %q, Content-Security-Policy %q",
				path, res.StatusCode, h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"), csp)
		}
	}
	paths := []string{"/", bundle[1], "/health/ready", "/no/such/page", "/static/dist/"}
	for _, f := range features.All() {
		if f.Nav != nil {
			paths = append(paths, f.Nav.Href)
		}
	}
	for _, path := range paths {
		res, _ := get(t, a.URL+path)
		check(path, res)
	}
	// An SSE answer (the greeting's patch): written by package sse, as
	// every stream is.
	greeting := "/about/greeting?datastar=" + url.QueryEscape(`{"name":"headers"}`)
	res, body := get(t, a.URL+greeting, "Datastar-Request", "true")
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET %s = %d %q %q, want an SSE answer", greeting, res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	check(greeting, res)

	// No listings, no source maps.
	for _, path := range []string{"/static/", "/static/dist/", "/static/dist/icons/", "/static/dist/datastar.js.map", "/static/dist/app.js.map", "/static/dist/charts.js.map"} {
		if res, body := get(t, a.URL+path); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404: %.200q", path, res.StatusCode, body)
		}
	}
	bundles := []string{
		"dist/datastar.js",
		"dist/app.js",
		"dist/app.css",
		//ironstar:needs analytics
		"dist/charts.js",
	}
	for _, name := range bundles {
		res, body := get(t, a.URL+"/static/"+name)
		if res.StatusCode != http.StatusOK || strings.Contains(body, "sourceMappingURL") {
			t.Errorf("GET /static/%s = %d; points to a source map: %v", name, res.StatusCode, strings.Contains(body, "sourceMappingURL"))
		}
	}
}

// TestChartsDrawUnderTheContentSecurityPolicy opens /analytics in Chromium:
// both chart libraries draw with no CSP violation (a console error), and the
// Vega chart still spans its container without vega-embed's stylesheet.
//
//ironstar:needs analytics
func TestChartsDrawUnderTheContentSecurityPolicy(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{env: []string{"NATS_PORT=" + freePort(t)}})
	startEngine(t, a)
	b := newBrowser(t)
	b.do(t,
		chromedp.Navigate(a.URL+"/analytics"),
		waitJS(`document.querySelector("#chart-per-minute canvas") && document.querySelector("#chart-flow canvas")`),
	)
	ratio := eval[float64](t, b, `document.querySelector("#chart-flow canvas").getBoundingClientRect().width / document.getElementById("chart-flow").getBoundingClientRect().width`)
	if ratio < 0.8 {
		t.Errorf("the Vega chart spans %.0f%% of its container, want it as wide", ratio*100)
	}
	b.checkClean(t)
}
