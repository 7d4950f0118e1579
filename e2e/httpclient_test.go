package e2e

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"ironstar/features"
	"ironstar/session"
)

// client is one browser session without a browser: a cookie jar.
type client struct {
	t    testing.TB
	base string
	http *http.Client
}

// newClient is a new visitor with a session, if a page of the app keeps
// one (see startSession).
func newClient(t testing.TB, base string) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	c.startSession()
	return c
}

// startSession opens / and, when that page keeps no session (in an app
// whose first page is the monitor, say), the pages of the navigation until
// one gives the client a session cookie. In an app where no page keeps a
// session the client ends without one.
func (c *client) startSession() {
	c.t.Helper()
	if res, _ := c.do(http.MethodGet, "/", "", nil); res.StatusCode != http.StatusOK {
		c.t.Fatalf("GET / = %d", res.StatusCode)
	}
	for _, f := range features.All() {
		if c.sessionCookie() != nil {
			return
		}
		if f.Nav != nil {
			c.do(http.MethodGet, f.Nav.Href, "", nil)
		}
	}
}

// sessionCookie is the session cookie the client holds; nil for none.
func (c *client) sessionCookie() *http.Cookie {
	c.t.Helper()
	if c.http.Jar == nil {
		return nil
	}
	u, err := url.Parse(c.base)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == session.CookieName {
			return ck
		}
	}
	return nil
}

// newClients is n visitors, each with its own session.
func newClients(t testing.TB, base string, n int) []*client {
	t.Helper()
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = newClient(t, base)
	}
	return clients
}

// command sends what the page's Datastar actions send.
func (c *client) command(method, path, body string, header ...string) (*http.Response, string) {
	c.t.Helper()
	h := map[string]string{"Datastar-Request": "true", "Content-Type": "application/json"}
	for i := 0; i+1 < len(header); i += 2 {
		h[header[i]] = header[i+1]
	}
	return c.do(method, path, body, h)
}

func (c *client) do(method, path, body string, header map[string]string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res, string(data)
}

// sseReader reads one SSE stream's frames in the background.
type sseReader struct {
	frames chan string
}

// openStream opens an SSE stream with the client's cookies, saying it saw
// lastEventID if that is set. It is closed when the test ends.
func openStream(t *testing.T, c *client, streamURL, lastEventID string) *sseReader {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, streamURL, nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := (&http.Client{Jar: c.http.Jar}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r := &sseReader{frames: make(chan string, 100)}
	go func() {
		defer res.Body.Close()
		defer close(r.frames)
		scanner := bufio.NewScanner(res.Body)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		var frame strings.Builder
		for scanner.Scan() {
			if scanner.Text() != "" {
				frame.WriteString(scanner.Text() + "\n")
				continue
			}
			if frame.Len() == 0 {
				continue
			}
			select {
			case r.frames <- frame.String():
			case <-ctx.Done():
				return
			}
			frame.Reset()
		}
	}()
	return r
}

// next returns the next frame.
func (r *sseReader) next(t *testing.T) string {
	t.Helper()
	select {
	case f, ok := <-r.frames:
		if !ok {
			t.Fatal("the stream ended")
		}
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame within 10s")
	}
	return ""
}

// waitFor reads frames until one contains text.
func (r *sseReader) waitFor(t *testing.T, text string) {
	t.Helper()
	for !strings.Contains(r.next(t), text) {
	}
}

// frameID is a frame's id: field.
func frameID(frame string) string {
	for line := range strings.Lines(frame) {
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "id: "); ok {
			return id
		}
	}
	return ""
}
