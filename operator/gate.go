// Package operator decides who may use the operator routes: the event log,
// projection operations, anything that shows every session's data or
// changes the app's machinery. A feature says its routes are operator
// routes (feature.Feature.Operator) and the router puts them behind a
// Gate.
//
// With ADMIN_TOKEN set, a request is an operator's if it carries
// `Authorization: Bearer <token>` (scripts, the command line) or the cookie
// the sign-in form sets (a browser); anyone else gets 404 on every operator
// route, as if it did not exist. Without ADMIN_TOKEN the operator routes do
// not exist in a production build, and are open to all in a dev build.
package operator

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ironstar/clientip"
)

// Cookie names: over HTTPS the cookie carries the __Host- prefix (see
// session's cookie, which does the same).
const (
	CookieName       = "ironstar_operator"
	SecureCookieName = "__Host-" + CookieName
)

// SignInPath is the sign-in form's path.
const SignInPath = "/operator/sign-in"

// cookieLife is how long a sign-in lasts.
const cookieLife = 12 * time.Hour

// Gate tells operators from everyone else.
type Gate struct {
	token   []byte
	dev     bool
	clients clientip.Resolver
	now     func() time.Time
}

// NewGate returns the gate of token (ADMIN_TOKEN, may be empty) in a dev
// build or not; clients tells whether a request came over HTTPS (the
// cookie is then Secure).
func NewGate(token string, dev bool, clients clientip.Resolver) *Gate {
	return &Gate{token: []byte(token), dev: dev, clients: clients, now: time.Now}
}

// Enabled reports whether the operator routes exist: with a token, or in
// a dev build.
// A nil Gate is a production build's without a token.
func (g *Gate) Enabled() bool { return g != nil && (len(g.token) > 0 || g.dev) }

// SignIn reports whether operators sign in (a token is set); without one
// a dev build's operator routes are open.
func (g *Gate) SignIn() bool { return g != nil && len(g.token) > 0 }

// Allows reports whether r is an operator's.
func (g *Gate) Allows(r *http.Request) bool {
	if !g.Enabled() {
		return false
	}
	if !g.SignIn() {
		return true // a dev build without a token
	}
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(bearer)), g.token) == 1
	}
	for _, name := range []string{SecureCookieName, CookieName} {
		if c, err := r.Cookie(name); err == nil && g.validCookie(c.Value) {
			return true
		}
	}
	return false
}

// Guard answers 404 to anyone but an operator, as if the route did not
// exist.
func (g *Gate) Guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.Allows(r) {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), signInKey{}, g.SignIn())))
	})
}

type signInKey struct{}

// signsIn reports whether the operator behind ctx signed in (rather than
// using a dev build's open routes).
func signsIn(ctx context.Context) bool {
	b, _ := ctx.Value(signInKey{}).(bool)
	return b
}

// A cookie value is "v1.<issued>.<mac>": the Unix time of the sign-in and
// an HMAC-SHA-256 of it under the token, so changing ADMIN_TOKEN signs
// everyone out, and a cookie lasts cookieLife whatever the browser does.
const cookieVersion = "v1"

func (g *Gate) cookieValue(issued time.Time) string {
	stamp := cookieVersion + "." + strconv.FormatInt(issued.Unix(), 10)
	return stamp + "." + g.mac(stamp)
}

func (g *Gate) mac(stamp string) string {
	h := hmac.New(sha256.New, g.token)
	h.Write([]byte("ironstar/operator/" + stamp))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

func (g *Gate) validCookie(value string) bool {
	i := strings.LastIndexByte(value, '.')
	if i < 0 {
		return false
	}
	stamp, mac := value[:i], value[i+1:]
	version, issuedText, ok := strings.Cut(stamp, ".")
	if !ok || version != cookieVersion || !hmac.Equal([]byte(mac), []byte(g.mac(stamp))) {
		return false
	}
	issued, err := strconv.ParseInt(issuedText, 10, 64)
	if err != nil {
		return false
	}
	age := g.now().Sub(time.Unix(issued, 0))
	return age >= -time.Minute && age < cookieLife // a minute of clock skew between instances
}

// setCookie signs the browser in for cookieLife.
func (g *Gate) setCookie(w http.ResponseWriter, r *http.Request) {
	secure := g.clients.HTTPS(r)
	name := CookieName
	if secure {
		name = SecureCookieName
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: g.cookieValue(g.now()), Path: "/", MaxAge: int(cookieLife.Seconds()),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode,
	})
}

// dropCookies signs the browser out.
func dropCookies(w http.ResponseWriter) {
	for _, name := range []string{CookieName, SecureCookieName} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: name == SecureCookieName, SameSite: http.SameSiteStrictMode})
	}
}
