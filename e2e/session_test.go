package e2e

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
	"ironstar/session"
)

// sessionCookie is the cookie a client holds for base.
func sessionCookie(t *testing.T, c *client) *http.Cookie {
	t.Helper()
	for _, ck := range c.http.Jar.Cookies(mustURL(t, c.base)) {
		if ck.Name == session.CookieName {
			return ck
		}
	}
	return nil
}

// cookieID is the random ID inside a signed cookie value.
func cookieID(value string) string {
	parts := strings.Split(value, ".")
	if len(parts) != 4 {
		return ""
	}
	return parts[1]
}

func TestSessionCommandsWithoutOneAreRefusedAndVisitorsStoreNothing(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	alice := newClient(t, a.URL)
	if res, body := alice.command(http.MethodPost, "/todos", `{"title":"alice's"}`); res.StatusCode != http.StatusOK {
		t.Fatalf("alice's add = %d %s", res.StatusCode, body)
	}
	alice.waitTodos("alice's")

	// Cookieless visitors who only look: 2,000 pages and streams' worth.
	jarless := &client{t: t, base: a.URL, http: &http.Client{Timeout: 10 * time.Second}}
	for i := range 2000 {
		if res, _ := jarless.do(http.MethodGet, "/", "", nil); res.StatusCode != http.StatusOK || len(res.Cookies()) != 1 {
			t.Fatalf("cookieless GET %d = %d, cookies %v", i, res.StatusCode, res.Cookies())
		}
	}

	// Commands without a session, or with one the server never issued:
	// refused with the feature's alert, no cookie, nothing run.
	forged, _ := cookiejar.New(nil)
	forged.SetCookies(mustURL(t, a.URL), []*http.Cookie{{Name: session.CookieName, Value: "v1." + strings.Repeat("A", 43) + ".1800000000." + strings.Repeat("B", 43)}})
	for name, c := range map[string]*client{
		"no cookie":     jarless,
		"forged cookie": {t: t, base: a.URL, http: &http.Client{Jar: forged, Timeout: 10 * time.Second}},
	} {
		for _, cmd := range []struct{ method, path, body, alert string }{
			{"POST", "/todos", `{"title":"intruder"}`, "todo-error"},
			{"DELETE", "/todos/abc", `{}`, "todo-error"},
			{"POST", "/counter/global/increment", `{}`, "counter-error"},
			{"POST", "/sortable", `{"order":["ship","test","build","design","plan"]}`, "sortable-error"},
		} {
			res, body := c.command(cmd.method, cmd.path, cmd.body)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(body, `id="`+cmd.alert+`"`) || !strings.Contains(body, "session") || len(res.Cookies()) != 0 {
				t.Errorf("%s: %s %s = %d %q, cookies %v; want 403 with the %s alert naming the session, no cookie", name, cmd.method, cmd.path, res.StatusCode, body, res.Cookies(), cmd.alert)
			}
		}
	}
	alice.waitTodos("alice's")

	// Look inside: one session kept (Alice's), one event (her add).
	if err := a.terminate(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	js := natstest.ConnectDir(t, a.DataDir).JS
	for stream, want := range map[string]uint64{"KV_" + session.Bucket: 1, eventstore.StreamName: 1} {
		s, err := js.Stream(t.Context(), stream)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.CachedInfo().State.Msgs; got != want {
			t.Errorf("stream %s holds %d messages, want %d", stream, got, want)
		}
	}
}

// While the sessions bucket cannot be reached (here: deleted past the app
// on the real binary), every feature's command gets its alert with 503 and
// Retry-After, nothing run; a page of a signed session still renders.
func TestSessionsUnreachableAnswer503WithEachFeaturesAlert(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	a := startApp(t, appOptions{env: []string{"NATS_PORT=" + port}})
	c := newClient(t, a.URL)
	if res, _ := c.do(http.MethodGet, "/", "", nil); res.StatusCode != http.StatusOK || sessionCookie(t, c) == nil {
		t.Fatalf("the page = %d, cookie %v", res.StatusCode, sessionCookie(t, c))
	}
	if err := embeddedJetStream(t, port).DeleteStream(t.Context(), "KV_"+session.Bucket); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []struct{ method, path, body, alert string }{
		{"POST", "/todos", `{"title":"lost"}`, "todo-error"},
		{"POST", "/counter/global/increment", `{}`, "counter-error"},
		{"POST", "/sortable", `{"order":["ship","test","build","design","plan"]}`, "sortable-error"},
	} {
		res, body := c.command(cmd.method, cmd.path, cmd.body)
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || !strings.Contains(body, `id="`+cmd.alert+`"`) || !strings.Contains(body, "try again") {
			t.Errorf("%s %s = %d (Retry-After %q) %q; want 503 with Retry-After and the %s alert", cmd.method, cmd.path, res.StatusCode, res.Header.Get("Retry-After"), body, cmd.alert)
		}
	}
	if res, _ := c.do(http.MethodGet, "/", "", nil); res.StatusCode != http.StatusOK {
		t.Errorf("a signed session's page = %d, want 200: it needs no bucket", res.StatusCode)
	}
	if logs := a.logs.String(); strings.Contains(logs, "status=500") || !strings.Contains(logs, "level=WARN msg=session") {
		t.Errorf("want the failures logged at warn, no 500:\n%s", a.failureLogs())
	}
}

func TestSessionIsRenewedWhileUsed(t *testing.T) {
	t.Parallel()
	// A one-minute TTL renews after six seconds of use.
	a := startApp(t, appOptions{env: []string{"SESSION_TTL=1m"}})
	c := newClient(t, a.URL)
	first := sessionCookie(t, c)
	if first == nil {
		t.Fatal("no session cookie")
	}
	if res, body := c.command(http.MethodPost, "/todos", `{"title":"before"}`); res.StatusCode != http.StatusOK {
		t.Fatalf("add = %d %s", res.StatusCode, body)
	}
	// Pages in use renew the cookie once it is due.
	var renewed *http.Cookie
	waitFor(t, 20*time.Second, "a renewed cookie", func() bool {
		res, _ := c.do(http.MethodGet, "/", "", nil)
		for _, ck := range res.Cookies() {
			if ck.Name == session.CookieName {
				renewed = ck
			}
		}
		return renewed != nil
	})
	if renewed.MaxAge != 60 || cookieID(renewed.Value) != cookieID(first.Value) || renewed.Value == first.Value {
		t.Errorf("renewed cookie %+v; want the same ID (%s), a new signature and Max-Age 60", renewed, cookieID(first.Value))
	}
	if res, body := c.command(http.MethodPost, "/todos", `{"title":"after"}`); res.StatusCode != http.StatusOK {
		t.Fatalf("add after the renewal = %d %s", res.StatusCode, body)
	}
	c.waitTodos("before", "after")
}

// browserSessionCookie is the session cookie Chromium holds for url.
func browserSessionCookie(t *testing.T, b *browser, url string) *network.Cookie {
	t.Helper()
	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies.Cookies {
		if c.Name == session.CookieName {
			return c
		}
	}
	return nil
}

func TestSessionInChromiumIsRenewedWhileInUse(t *testing.T) {
	t.Parallel()
	// The case: with a one-minute TTL the cookie was never renewed,
	// so a minute after the first visit adds went into a new, empty list.
	a := startApp(t, appOptions{env: []string{"SESSION_TTL=1m"}})
	b := newBrowser(t)
	openTodos(t, b, a.URL+"/")
	first := browserSessionCookie(t, b, a.URL)
	if first == nil || !first.HTTPOnly || first.SameSite != network.CookieSameSiteLax {
		t.Fatalf("session cookie %+v; want an HttpOnly, SameSite=Lax one", first)
	}
	// Use the page, an add a second, until the cookie is renewed (after
	// six seconds, a tenth of the TTL).
	var added []string
	var last time.Time
	var renewed *network.Cookie
	waitFor(t, 20*time.Second, "Chromium's cookie renewed by the page's commands", func() bool {
		if time.Since(last) >= time.Second {
			last = time.Now()
			added = append(added, fmt.Sprintf("add %d", len(added)+1))
			b.do(t, addTodo(added[len(added)-1]), waitTodos(added...))
		}
		renewed = browserSessionCookie(t, b, a.URL)
		return renewed != nil && renewed.Value != first.Value
	})
	if cookieID(renewed.Value) != cookieID(first.Value) || renewed.Expires <= first.Expires {
		t.Errorf("renewed cookie %q expiring %v; want the same ID as %q and a later expiry than %v", renewed.Value, renewed.Expires, first.Value, first.Expires)
	}
	// The same list goes on, with no alert.
	added = append(added, "after the renewal")
	b.do(t, addTodo(added[len(added)-1]), waitTodos(added...), waitJS(`document.getElementById("todo-error").hidden`))
	b.checkClean(t)
}
