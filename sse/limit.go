package sse

import (
	"context"
	"net/http"
	"sync"
)

// Limiter caps the streams open at once, in the process and per key of
// each of its Caps (a session, a client address). Every stream holds a
// connection, and so a file descriptor, for as long as its page stays
// open; without a cap one visitor opening pages could take every
// descriptor the process has, JetStream's files included. Sessions cost
// nothing to get, so a per-session cap alone stops only a visitor who
// keeps their cookie: the per-client cap stops one who churns them.
type Limiter struct {
	max  int
	caps []Cap

	mu    sync.Mutex
	open  int
	byKey []map[string]int // per cap
}

// Cap limits the streams of any one key of a kind.
type Cap struct {
	// Max is the streams one key may hold; 0 or less is no cap.
	Max int
	// Key derives the request's key; "" (or a nil Key) is no key: the cap
	// does not apply to that request.
	Key func(*http.Request) string
}

// NewLimiter returns a limiter allowing max streams in the process (0 or
// less: no cap) and, for each of caps, its Max per key.
func NewLimiter(max int, caps ...Cap) *Limiter {
	l := &Limiter{max: max, caps: caps, byKey: make([]map[string]int, len(caps))}
	for i := range l.byKey {
		l.byKey[i] = map[string]int{}
	}
	return l
}

// Acquire takes a place for a stream whose key under caps[i] is keys[i]
// (missing keys are ""). It reports false, taking nothing, when the
// process or any key is at its cap. Otherwise release gives the place
// back; calling it more than once is harmless.
func (l *Limiter) Acquire(keys ...string) (release func(), ok bool) {
	keys = l.pad(keys)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.open >= l.max {
		return nil, false
	}
	for i, key := range keys {
		if key != "" && l.caps[i].Max > 0 && l.byKey[i][key] >= l.caps[i].Max {
			return nil, false
		}
	}
	l.open++
	for i, key := range keys {
		if key != "" {
			l.byKey[i][key]++
		}
	}
	var once sync.Once
	return func() { once.Do(func() { l.release(keys) }) }, true
}

// pad returns one key per cap.
func (l *Limiter) pad(keys []string) []string {
	padded := make([]string, len(l.caps))
	copy(padded, keys)
	return padded
}

func (l *Limiter) release(keys []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	for i, key := range keys {
		if key == "" {
			continue
		}
		// Deleting at zero keeps each map as small as its set of open keys.
		if l.byKey[i][key]--; l.byKey[i][key] <= 0 {
			delete(l.byKey[i], key)
		}
	}
}

// Open reports how many streams hold a place in all, and for each of keys
// how many hold one under it (keys[i] under caps[i]).
func (l *Limiter) Open(keys ...string) (all int, forKeys []int) {
	keys = l.pad(keys)
	l.mu.Lock()
	defer l.mu.Unlock()
	forKeys = make([]int, len(keys))
	for i, key := range keys {
		forKeys[i] = l.byKey[i][key]
	}
	return l.open, forKeys
}

type limiterKey struct{}

// WithLimiter is middleware that makes Stream count every stream it opens
// against l.
func WithLimiter(l *Limiter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), limiterKey{}, l)))
		})
	}
}

// retryAfter is the Retry-After, in seconds, of a stream refused at a cap:
// long enough for a closed tab's stream to be gone.
const retryAfter = 5

// admit takes a place for r's stream from the request's limiter, if it has
// one. When there is none to take it answers 503 with Retry-After itself
// (see refuse) and reports false.
func admit(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	l, _ := r.Context().Value(limiterKey{}).(*Limiter)
	if l == nil {
		return func() {}, true
	}
	keys := make([]string, len(l.caps))
	for i, c := range l.caps {
		if c.Key != nil {
			keys[i] = c.Key(r)
		}
	}
	release, ok = l.Acquire(keys...)
	if !ok {
		refuse(w, "too many open update streams, try again shortly")
	}
	return release, ok
}
