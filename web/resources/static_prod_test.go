//go:build !dev

package resources

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

func TestProductionAssetsAreContentHashedAndImmutable(t *testing.T) {
	t.Parallel()
	url := URL("favicon.svg")
	if !regexp.MustCompile(`^/static/favicon\.[0-9a-f]{16}\.svg$`).MatchString(url) {
		t.Fatalf("URL(favicon.svg) = %q, want a content-hashed name", url)
	}
	h := Handler()
	serve := func(path string, header ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	hashed := serve(url)
	if hashed.Code != http.StatusOK || hashed.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Errorf("GET %s = %d, Cache-Control %q", url, hashed.Code, hashed.Header().Get("Cache-Control"))
	}
	if ct := hashed.Header().Get("Content-Type"); ct != "image/svg+xml" {
		t.Errorf("Content-Type = %q", ct)
	}
	if rec := serve(url, "If-None-Match", hashed.Header().Get("ETag")); rec.Code != http.StatusNotModified {
		t.Errorf("conditional GET = %d, want 304", rec.Code)
	}
	if rec := serve("/static/favicon.svg"); rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("GET by logical name = %d, Cache-Control %q; want 200, no-cache", rec.Code, rec.Header().Get("Cache-Control"))
	}
	if rec := serve("/static/favicon.0000000000000000.svg"); rec.Code != http.StatusNotFound {
		t.Errorf("GET with a stale hash = %d, want 404", rec.Code)
	}
	for _, path := range []string{"/static/", "/static/dist/", "/static/dist/icons", "/static/dist/datastar.js.map", "/static/dist/app.js.map"} {
		if rec := serve(path); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404 (no listings, no source maps)", path, rec.Code)
		}
	}
	if got := URL("missing.js"); got != "/static/missing.js" {
		t.Errorf("URL(missing.js) = %q", got)
	}
}
