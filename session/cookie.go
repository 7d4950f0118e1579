package session

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Cookie names. Over HTTPS the cookie is Secure and carries the __Host-
// prefix, so the browser accepts it only from this exact origin, on path
// /, over HTTPS: a sibling subdomain or a man in the middle of plain HTTP
// cannot plant a session of their choosing. Plain HTTP (the dev server)
// can use neither, so it gets the bare name.
const (
	CookieName       = "ironstar_session"
	SecureCookieName = "__Host-" + CookieName
)

// A cookie value is "v1.<id>.<issued>.<mac>": the random ID, the Unix time
// the cookie was issued (or last renewed), and an HMAC-SHA-256 of the two
// under the key every instance shares. The server recognises the IDs it
// issued without storing them, and a cookie expires SESSION_TTL after it
// was issued whatever the browser does with Max-Age; the issue time (not
// an expiry) is signed so that a shorter SESSION_TTL applies at once.
const cookieVersion = "v1"

// ticket is a verified cookie.
type ticket struct {
	id     string
	issued time.Time
}

// newID returns 32 random bytes, base64url: 256 bits, a valid KV key.
func newID() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics on a broken system)
	return base64.RawURLEncoding.EncodeToString(b)
}

// idLength is the length of every ID newID makes.
const idLength = 43

// wellFormed reports whether id could be one newID made: idLength
// characters of the base64url alphabet (which RawURLEncoding decodes,
// checked here without decoding: every request asks).
func wellFormed(id string) bool {
	if len(id) != idLength {
		return false
	}
	for i := range len(id) {
		if c := id[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// sign makes the cookie value of id, issued at issued.
func (s *Store) sign(id string, issued time.Time) string {
	payload := cookieVersion + "." + id + "." + strconv.FormatInt(issued.Unix(), 10)
	return payload + "." + base64.RawURLEncoding.EncodeToString(keyedHash(s.cookieKey, payload))
}

// keyedHash is the HMAC-SHA-256 of data under key: the cookies' MAC, the
// public IDs and the keys derived for each.
func keyedHash(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// verify returns the ticket of a cookie value this server signed and that
// has not expired at now.
func (s *Store) verify(value string, now time.Time) (ticket, bool) {
	payload, sum, ok := cutLast(value)
	if !ok {
		return ticket{}, false
	}
	version, rest, _ := strings.Cut(payload, ".")
	id, issuedText, _ := strings.Cut(rest, ".")
	mac, err := base64.RawURLEncoding.DecodeString(sum)
	if version != cookieVersion || !wellFormed(id) || err != nil || !hmac.Equal(mac, keyedHash(s.cookieKey, payload)) {
		return ticket{}, false
	}
	unix, err := strconv.ParseInt(issuedText, 10, 64)
	if err != nil {
		return ticket{}, false
	}
	issued := time.Unix(unix, 0)
	// Expired, or issued in the future by more than another instance's
	// clock could be ahead.
	if age := now.Sub(issued); age >= s.ttl || age < -s.renewEvery() {
		return ticket{}, false
	}
	return ticket{id: id, issued: issued}, true
}

func cutLast(value string) (before, after string, ok bool) {
	i := strings.LastIndexByte(value, '.')
	if i < 0 {
		return "", "", false
	}
	return value[:i], value[i+1:], true
}

// publicID derives the public handle of a session from its ID with a keyed
// hash: the same on every instance, nothing to store, and it reveals
// nothing of the ID.
func (s *Store) publicID(id string) string {
	return base64.RawURLEncoding.EncodeToString(keyedHash(s.publicKey, id))[:22]
}

// deriveKey makes one key per purpose from the master key, so that the
// public IDs (which everyone sees) reveal nothing about cookie MACs.
func deriveKey(master []byte, purpose string) []byte {
	return keyedHash(master, "ironstar/session/"+purpose)
}

func cookieName(secure bool) string {
	if secure {
		return SecureCookieName
	}
	return CookieName
}

// readCookie returns the session cookie of the request's scheme and the
// name it was found under. Over HTTPS a cookie of the bare name is read
// only if it holds an ID from before signed cookies (a legacy session, set
// when every cookie had the bare name), so that it can be moved.
func readCookie(r *http.Request, secure bool) (value, name string) {
	if c, err := r.Cookie(cookieName(secure)); err == nil {
		return c.Value, c.Name
	}
	if secure {
		if c, err := r.Cookie(CookieName); err == nil && wellFormed(c.Value) {
			return c.Value, c.Name
		}
	}
	return "", ""
}

// setCookie gives the browser value for SESSION_TTL.
func (s *Store) setCookie(w http.ResponseWriter, secure bool, value string) {
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName(secure),
		Value:    value,
		Path:     "/", // and no Domain: both required by __Host-
		MaxAge:   int(s.ttl.Seconds()),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// dropCookie tells the browser to forget the cookie called name.
func dropCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}
