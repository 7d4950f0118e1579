package operator

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"ironstar/clientip"
)

const token = "a-token-long-enough-for-the-tests"

// server is a router with the sign-in routes and one guarded route.
func server(g *Gate) http.Handler {
	r := chi.NewRouter()
	g.Routes(r, slog.New(slog.DiscardHandler))
	r.With(g.Guard).Get("/events", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("the log")) })
	return r
}

func do(h http.Handler, method, path, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestWithoutATokenOperatorRoutesExistOnlyInDevBuilds(t *testing.T) {
	var none *Gate
	prod := NewGate("", false, clientip.New(nil))
	dev := NewGate("", true, clientip.New(nil))
	if none.Enabled() || prod.Enabled() || !dev.Enabled() || dev.SignIn() {
		t.Fatalf("enabled: nil %v, production %v, dev %v (dev signs in: %v); want false, false, true (false)", none.Enabled(), prod.Enabled(), dev.Enabled(), dev.SignIn())
	}
	if rec := do(server(dev), "GET", "/events", ""); rec.Code != 200 {
		t.Errorf("a dev build without a token: GET /events = %d, want 200", rec.Code)
	}
	if rec := do(server(prod), "GET", "/events", ""); rec.Code != 404 {
		t.Errorf("a production build without a token: GET /events = %d, want 404", rec.Code)
	}
	if rec := do(server(dev), "GET", SignInPath, ""); rec.Code != 404 {
		t.Errorf("without a token there is no sign-in form: %d, want 404", rec.Code)
	}
}

func TestATokenOpensTheRoutesByBearerOrSignInCookie(t *testing.T) {
	g := NewGate(token, false, clientip.New(nil))
	h := server(g)
	for _, tc := range []struct {
		name   string
		header []string
		want   int
	}{
		{"no credentials", nil, 404},
		{"the right bearer token", []string{"Authorization", "Bearer " + token}, 200},
		{"a wrong bearer token", []string{"Authorization", "Bearer " + token + "x"}, 404},
		{"a forged cookie", []string{"Cookie", CookieName + "=v1.1700000000.AAAA"}, 404},
	} {
		if rec := do(h, "GET", "/events", "", tc.header...); rec.Code != tc.want {
			t.Errorf("%s: GET /events = %d, want %d", tc.name, rec.Code, tc.want)
		}
	}

	form := "application/x-www-form-urlencoded"
	if rec := do(h, "POST", SignInPath, url.Values{"token": {"guess"}}.Encode(), "Content-Type", form); rec.Code != 403 || len(rec.Result().Cookies()) != 0 {
		t.Errorf("a wrong token at the form = %d with %d cookies, want 403 and none", rec.Code, len(rec.Result().Cookies()))
	}
	rec := do(h, "POST", SignInPath, url.Values{"token": {token}}.Encode(), "Content-Type", form)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != HomePath {
		t.Fatalf("the right token at the form = %d to %q, want 303 to %s", rec.Code, rec.Header().Get("Location"), HomePath)
	}
	cookie := rec.Result().Cookies()[0]
	if cookie.Name != CookieName || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie = %+v, want %s, HttpOnly, SameSite=Strict", cookie, CookieName)
	}
	if rec := do(h, "GET", "/events", "", "Cookie", cookie.Name+"="+cookie.Value); rec.Code != 200 {
		t.Errorf("signed in: GET /events = %d, want 200", rec.Code)
	}

	// The cookie ends after cookieLife, and with the token.
	later := NewGate(token, false, clientip.New(nil))
	later.now = func() time.Time { return time.Now().Add(cookieLife + time.Minute) }
	if rec := do(server(later), "GET", "/events", "", "Cookie", cookie.Name+"="+cookie.Value); rec.Code != 404 {
		t.Errorf("a cookie older than %v: GET /events = %d, want 404", cookieLife, rec.Code)
	}
	rotated := NewGate(token+"-rotated", false, clientip.New(nil))
	if rec := do(server(rotated), "GET", "/events", "", "Cookie", cookie.Name+"="+cookie.Value); rec.Code != 404 {
		t.Errorf("a cookie of the previous token: GET /events = %d, want 404", rec.Code)
	}

	out := do(h, "POST", "/operator/sign-out", "")
	if out.Code != http.StatusSeeOther || len(out.Result().Cookies()) == 0 || out.Result().Cookies()[0].MaxAge >= 0 {
		t.Errorf("sign-out = %d with cookies %v, want 303 and the cookie dropped", out.Code, out.Result().Cookies())
	}
}
