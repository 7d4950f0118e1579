package router

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSecurityHeadersAreOnEveryAnswer(t *testing.T) {
	t.Parallel()
	h := securityHeaders(false)(http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/nowhere", nil))
	if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
	if got := rec.Header().Get("Referrer-Policy"); got != "strict-origin-when-cross-origin" {
		t.Errorf("Referrer-Policy = %q", got)
	}
	csp := rec.Header().Get("Content-Security-Policy")
	directives := map[string]string{}
	for d := range strings.SplitSeq(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	for name, want := range map[string]string{
		"default-src":     "'self'",
		"script-src":      "'self' 'unsafe-eval'",
		"style-src":       "'self'",
		"img-src":         "'self'",
		"connect-src":     "'self'",
		"object-src":      "'none'",
		"frame-ancestors": "'none'",
		"base-uri":        "'self'",
		"form-action":     "'self'",
	} {
		if directives[name] != want {
			t.Errorf("CSP %s = %q, want %q (policy %q)", name, directives[name], want, csp)
		}
	}
	if strings.Contains(directives["script-src"], "unsafe-inline") {
		t.Errorf("CSP allows inline scripts: %q", csp)
	}
}

func TestOnlyDevBuildsAllowInlineScripts(t *testing.T) {
	t.Parallel()
	if prod := contentSecurityPolicy(false); strings.Contains(prod, "'unsafe-inline'") {
		t.Errorf("production policy allows inline code: %q", prod)
	}
	if dev := contentSecurityPolicy(true); !strings.Contains(dev, "script-src 'self' 'unsafe-eval' 'unsafe-inline'") {
		t.Errorf("dev policy refuses the reload stream's scripts: %q", dev)
	}
}
