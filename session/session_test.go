package session

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats/natstest"
)

func newStore(t *testing.T, ttl time.Duration) *Store {
	t.Helper()
	conn := natstest.Connect(t)
	s, err := NewStore(t.Context(), conn.JS, ttl, 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// echo answers with the session's list ID.
func echo(s *Store) http.Handler {
	return s.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := FromContext(r.Context())
		io.WriteString(w, sess.PublicID)
	}))
}

func request(t *testing.T, h http.Handler, cookie string, tls bool) (*http.Cookie, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if tls {
		req = httptest.NewRequest(http.MethodGet, "https://example.test/", nil)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var set *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == CookieName {
			set = c
		}
	}
	return set, rec.Body.String()
}

func TestANewVisitorGetsASecureCookie(t *testing.T) {
	t.Parallel()
	h := echo(newStore(t, time.Hour))
	c, list := request(t, h, "", false)
	if c == nil {
		t.Fatal("no session cookie")
	}
	if len(c.Value) != 43 || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
		t.Errorf("cookie = %+v; want 43 chars (256 bits), HttpOnly, SameSite=Lax, Path=/, not Secure over plain HTTP", c)
	}
	if list == "" || strings.Contains(c.Value, list) {
		t.Errorf("list id %q must be set and unrelated to the cookie", list)
	}
	if c, _ := request(t, h, "", true); c == nil || !c.Secure {
		t.Errorf("over TLS the cookie = %+v, want Secure", c)
	}
}

func TestAKnownCookieKeepsItsSession(t *testing.T) {
	t.Parallel()
	h := echo(newStore(t, time.Hour))
	c, list := request(t, h, "", false)
	again, list2 := request(t, h, c.Value, false)
	if again != nil || list2 != list {
		t.Errorf("second visit set cookie %v and list %q, want no new cookie and list %q", again, list2, list)
	}
}

func TestAnIDTheServerDidNotIssueIsNotAdopted(t *testing.T) {
	t.Parallel()
	s := newStore(t, time.Hour)
	h := echo(s)
	_, real := request(t, h, "", false)
	for _, forged := range []string{
		newID(),                   // well formed, never issued
		"attacker-chosen-session", // malformed
		strings.Repeat("!", 43),   // right length, not base64url
	} {
		c, list := request(t, h, forged, false)
		if c == nil || c.Value == forged {
			t.Errorf("cookie %q was adopted", forged)
		}
		if list == real {
			t.Errorf("forged cookie %q reached another session's list", forged)
		}
	}
}

func TestAnExpiredSessionIsReplaced(t *testing.T) {
	t.Parallel()
	s := newStore(t, time.Second)
	h := echo(s)
	c, list := request(t, h, "", false)
	// Wait until the bucket's TTL removed the session, polling the bucket
	// itself (Get would refresh the session).
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s.kv.Get(t.Context(), c.Value); errors.Is(err, jetstream.ErrKeyNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("session did not expire")
		}
		time.Sleep(50 * time.Millisecond)
	}
	fresh, list2 := request(t, h, c.Value, false)
	if fresh == nil || fresh.Value == c.Value || list2 == list {
		t.Errorf("expired session: cookie %v, list %q; want a new session", fresh, list2)
	}
}
