package router

import (
	"net/http"
	"strings"
)

// contentSecurityPolicy allows the pages only what they use: everything
// from this origin, nothing inline, no plugins, no framing. One directive is
// wider than 'self', because Datastar cannot work without it:
//
//   - script-src 'unsafe-eval': Datastar compiles every data-* expression
//     with the Function constructor (so does Vega for its expressions on
//     /analytics); without it no data-* attribute works. Inline <script>
//     stays refused: nothing here uses one, except in dev builds, whose
//     reload stream runs its scripts through Datastar's ExecuteScript (an
//     inline <script>), so dev adds 'unsafe-inline'.
//
// Styles need nothing inline: the libraries set them through the CSSOM,
// which CSP does not govern, and vega-embed's own <style> elements are
// turned off (web/libs/vega-chart.ts).
func contentSecurityPolicy(dev bool) string {
	scripts := "script-src 'self' 'unsafe-eval'"
	if dev {
		scripts += " 'unsafe-inline'"
	}
	return strings.Join([]string{
		"default-src 'self'",
		scripts,
		"style-src 'self'",
		"img-src 'self'",
		"connect-src 'self'",
		"font-src 'self'",
		"object-src 'none'",
		"base-uri 'self'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// securityHeaders sets the headers every response carries: no MIME
// sniffing (a user's text never runs as a script or page), referrers only
// in full to this origin, and the policy above.
func securityHeaders(dev bool) func(http.Handler) http.Handler {
	csp := contentSecurityPolicy(dev)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
			h.Set("Content-Security-Policy", csp)
			next.ServeHTTP(w, r)
		})
	}
}
