package sse

import (
	"context"
	"net/http"
	"strconv"
	"sync"
)

// Limiter caps the streams open at once, in the process and per key (a
// session). Every stream holds a connection, and so a file descriptor, for
// as long as its page stays open; without a cap one visitor opening pages
// could take every descriptor the process has, JetStream's files included.
type Limiter struct {
	max, perKey int
	key         func(*http.Request) string

	mu    sync.Mutex
	open  int
	byKey map[string]int
}

// NewLimiter returns a limiter allowing max streams in the process and
// perKey streams for any one key, which key derives from the request ("" for
// a request with no key: only the process's cap applies). A cap of 0 or less
// is no cap.
func NewLimiter(max, perKey int, key func(*http.Request) string) *Limiter {
	return &Limiter{max: max, perKey: perKey, key: key, byKey: map[string]int{}}
}

// Acquire takes a place for a stream of key. It reports false, taking
// nothing, when the process or the key is at its cap. Otherwise release
// gives the place back; calling it more than once is harmless.
func (l *Limiter) Acquire(key string) (release func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.open >= l.max {
		return nil, false
	}
	if key != "" && l.perKey > 0 && l.byKey[key] >= l.perKey {
		return nil, false
	}
	l.open++
	if key != "" {
		l.byKey[key]++
	}
	var once sync.Once
	return func() { once.Do(func() { l.release(key) }) }, true
}

func (l *Limiter) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if key == "" {
		return
	}
	// Deleting at zero keeps the map as small as the set of open sessions.
	if l.byKey[key]--; l.byKey[key] <= 0 {
		delete(l.byKey, key)
	}
}

// Open reports how many streams hold a place, in all and for key.
func (l *Limiter) Open(key string) (all, forKey int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open, l.byKey[key]
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

// RetryAfter is the Retry-After, in seconds, of a stream refused at a cap:
// long enough for a closed tab's stream to be gone.
const RetryAfter = 5

// admit takes a place for r's stream from the request's limiter, if it has
// one. When there is none to take it answers 503 with Retry-After itself
// and reports false.
func admit(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	l, _ := r.Context().Value(limiterKey{}).(*Limiter)
	if l == nil {
		return func() {}, true
	}
	key := ""
	if l.key != nil {
		key = l.key(r)
	}
	release, ok = l.Acquire(key)
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
		http.Error(w, "too many open update streams, try again shortly", http.StatusServiceUnavailable)
	}
	return release, ok
}
