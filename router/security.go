package router

import (
	"net/http"
	"strings"
)

// contentSecurityPolicy allows the pages only what they use: everything
// from this origin, nothing inline, no plugins, no framing. Two directives
// are wider than 'self', for the libraries' sake:
//
//   - script-src 'unsafe-eval': Datastar compiles every data-* expression
//     with the Function constructor (so does Vega for its expressions on
//     /analytics). Without it no attribute works. Inline <script> stays
//     refused: nothing here uses one.
//   - style-src-elem 'unsafe-inline': vega-embed adds its stylesheet as a
//     <style> element on /analytics. Style attributes stay refused; the
//     libraries set styles through the CSSOM, which CSP does not govern.
//
// img-src takes data: for the icons and the charts' exported images.
var contentSecurityPolicy = strings.Join([]string{
	"default-src 'self'",
	"script-src 'self' 'unsafe-eval'",
	"style-src 'self'",
	"style-src-elem 'self' 'unsafe-inline'",
	"img-src 'self' data:",
	"connect-src 'self'",
	"font-src 'self'",
	"object-src 'none'",
	"base-uri 'self'",
	"form-action 'self'",
	"frame-ancestors 'none'",
}, "; ")

// securityHeaders sets the headers every response carries: no MIME
// sniffing (a user's text never runs as a script or page), referrers only
// in full to this origin, and the policy above.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		next.ServeHTTP(w, r)
	})
}
