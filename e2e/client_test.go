package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// spoofer claims, on every request, to forward for another address: what
// a client trying to escape per-client limits would send.
type spoofer struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (s *spoofer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	n := s.n.Add(1)
	r.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.%d.%d", n/256%256, n%256))
	return s.next.RoundTrip(r)
}

// fromAddr is a transport whose connections come from the loopback
// address local (any of 127.0.0.0/8 reaches the app on 127.0.0.1): a
// second client address on one machine.
func fromAddr(t *testing.T, local string) *http.Transport {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	tr := &http.Transport{DialContext: dialer.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// churn is a client with a fresh cookie (a new session, free to get) on
// transport tr: a visitor throwing its cookie away before every request.
func churn(t *testing.T, base string, tr http.RoundTripper) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, base: base, http: &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second}}
	if c.startSession(); c.sessionCookie() == nil {
		t.Fatalf("no page gave a session cookie: %v", jar.Cookies(mustURL(t, base)))
	}
	return c
}

// One client address sending every command under a fresh session, and
// claiming in X-Forwarded-For to forward for ever new addresses, is held
// to the per-client write quota (TRUSTED_PROXIES does not list it, so the
// header means nothing); another address is not affected, and nothing
// refused is stored.
//
//ironstar:needs todo
func TestClientChurningCookiesIsHeldToItsWriteQuota(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{env: []string{"CLIENT_WRITE_RATE=6", "CLIENT_WRITE_BURST=5", "CLIENT_WRITE_BYTES=", "TRUSTED_PROXIES=10.0.0.0/8"}})
	spoofing := &spoofer{next: fromAddr(t, "127.0.0.1")}
	for i := range 5 {
		c := churn(t, a.URL, spoofing)
		if res, body := c.command(http.MethodPost, "/todos", fmt.Sprintf(`{"title":"within %d"}`, i)); res.StatusCode != 200 {
			t.Fatalf("add %d within the client's burst of 5 = %d %s", i+1, res.StatusCode, body)
		}
	}
	for _, tr := range []http.RoundTripper{spoofing, fromAddr(t, "127.0.0.1")} {
		c := churn(t, a.URL, tr)
		res, body := c.command(http.MethodPost, "/todos", `{"title":"over"}`)
		retry, err := strconv.Atoi(res.Header.Get("Retry-After"))
		if res.StatusCode != http.StatusTooManyRequests || err != nil || retry < 1 || retry > 10 {
			t.Fatalf("a fresh session's add past its client's quota = %d, Retry-After %q; want 429 and 1–10 s", res.StatusCode, res.Header.Get("Retry-After"))
		}
		if !strings.Contains(body, `id="todo-error"`) || !strings.Contains(body, "nothing was saved") {
			t.Errorf("the refusal answered %q; want the todo alert saying nothing was saved", body)
		}
		if got := c.todos(); len(got) != 0 {
			t.Errorf("the refused session's list shows %q; want nothing stored", got)
		}
	}
	other := churn(t, a.URL, fromAddr(t, "127.0.0.2"))
	if res, body := other.command(http.MethodPost, "/todos", `{"title":"another address"}`); res.StatusCode != 200 {
		t.Fatalf("another client address's add = %d %s; its quota is its own", res.StatusCode, body)
	}
	other.waitTodos("another address")
	if strings.Contains(a.logs.String(), "status=500") {
		t.Error("a request answered 500")
	}
}

// Behind a trusted proxy (here 127.0.0.1) each address the proxy forwards
// for has its own quota, and what the client wrote left of the proxy's
// entry does not change whose it is.
//
//ironstar:needs counter
func TestClientQuotaKeysOnTheAddressATrustedProxyForwardsFor(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{env: []string{"CLIENT_WRITE_RATE=6", "CLIENT_WRITE_BURST=2", "TRUSTED_PROXIES=127.0.0.1"}})
	proxy := fromAddr(t, "127.0.0.1")
	send := func(xff string) int {
		c := churn(t, a.URL, proxy)
		res, _ := c.command(http.MethodPost, "/counter/mine/increment", `{}`, "X-Forwarded-For", xff)
		return res.StatusCode
	}
	for i := range 2 {
		if code := send("198.51.100.1"); code != 200 {
			t.Fatalf("command %d for 198.51.100.1 = %d", i+1, code)
		}
	}
	if code := send("203.0.113.99, 198.51.100.1"); code != http.StatusTooManyRequests {
		t.Errorf("a 3rd command for 198.51.100.1, with a made-up entry left of it = %d; want 429", code)
	}
	if code := send("198.51.100.2"); code != 200 {
		t.Errorf("a command the proxy forwards for another address = %d; want 200", code)
	}
	// IPv6 clients are one client per /64.
	for i := range 2 {
		if code := send(fmt.Sprintf("2001:db8:1:2::%x", i+1)); code != 200 {
			t.Fatalf("command %d from the /64 = %d", i+1, code)
		}
	}
	if code := send("2001:db8:1:2:ffff::9"); code != http.StatusTooManyRequests {
		t.Errorf("a 3rd command from another address of the same /64 = %d; want 429", code)
	}
}

// One client address opening streams under ever fresh sessions (and
// spoofing X-Forwarded-For) gets 503 with Retry-After at its cap, a
// quarter of HTTP_MAX_STREAMS by default, so the process's other places
// stay for other clients.
//
//ironstar:needs todo
func TestClientChurningCookiesIsHeldToItsStreamCap(t *testing.T) {
	t.Parallel()
	// An empty value restores the default launchApp lifts.
	a := startApp(t, appOptions{env: []string{"HTTP_MAX_STREAMS=40", "HTTP_MAX_STREAMS_PER_CLIENT=", "TRUSTED_PROXIES=10.0.0.0/8"}})
	checkBudgetLine(t, a, "max_streams=40", "max_streams_per_client=10")
	spoofing := &spoofer{next: fromAddr(t, "127.0.0.1")}
	var first *streamHolder
	holder := func(c *client) *streamHolder {
		h := &streamHolder{t: t, client: c.http}
		t.Cleanup(h.closeAll)
		return h
	}
	for i := range 10 {
		h := holder(churn(t, a.URL, spoofing))
		if first == nil {
			first = h
		}
		if status, _ := h.open(a.URL + "/todos/updates"); status != http.StatusOK {
			t.Fatalf("the client's stream %d (a fresh session) = %d, want 200", i+1, status)
		}
	}
	for _, url := range []string{
		"/todos/updates",
		// A stream of a page without sessions counts against the cap too.
		//ironstar:needs monitor
		"/monitor/updates",
	} {
		status, retry := holder(churn(t, a.URL, spoofing)).open(a.URL + url)
		if status != http.StatusServiceUnavailable || retry == "" {
			t.Fatalf("GET %s, the client's 11th stream under a fresh session = %d, Retry-After %q; want 503 with Retry-After", url, status, retry)
		}
	}
	other := holder(churn(t, a.URL, fromAddr(t, "127.0.0.2")))
	if status, _ := other.open(a.URL + "/todos/updates"); status != http.StatusOK {
		t.Fatalf("another client address's stream = %d, want 200: one client holds only its share", status)
	}

	first.closeAll()
	again := holder(churn(t, a.URL, spoofing))
	waitFor(t, 10*time.Second, "the client's closed stream to give its place back", func() bool {
		status, _ := again.open(a.URL + "/todos/updates")
		return status == http.StatusOK
	})
}
