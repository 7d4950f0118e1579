package command

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"ironstar/session"
)

// QuotaOptions are the per-session limits; a zero rate turns that limit off.
type QuotaOptions struct {
	// CommandsPerMinute is the sustained rate of commands per session.
	CommandsPerMinute int
	// Burst is how many commands a session may send at once.
	Burst int
	// BytesPerMinute is the sustained rate of request-body bytes per
	// session (a minute's worth may come at once): a bound on what one
	// session can make the app store, whatever its commands' sizes.
	BytesPerMinute int64
}

// idleAfter is how long a session's buckets are kept without a command:
// by then they are full again, so forgetting them changes nothing.
const idleAfter = 10 * time.Minute

// Quota limits how much each session may write: a token bucket per session
// (by its public ID) for commands and one for bytes. A command past either
// is answered 429 with Retry-After before its handler runs, so it changes
// nothing. The buckets live in this process: with several instances behind
// a balancer a session's budget is per instance.
type Quota struct {
	opts   QuotaOptions
	logger *slog.Logger

	mu       sync.Mutex
	sessions map[string]*buckets
	swept    time.Time
}

type buckets struct {
	commands *rate.Limiter // nil when off
	bytes    *rate.Limiter // nil when off
	used     time.Time
}

// NewQuota returns the limits, or nil (no limit) when both rates are zero.
func NewQuota(opts QuotaOptions, logger *slog.Logger) *Quota {
	if opts.CommandsPerMinute <= 0 && opts.BytesPerMinute <= 0 {
		return nil
	}
	return &Quota{opts: opts, logger: logger, sessions: make(map[string]*buckets), swept: time.Now()}
}

// OverQuotaError is a command refused because its session is over quota.
type OverQuotaError struct {
	// RetryAfter is when the command would fit the quota again.
	RetryAfter time.Duration
}

func (e *OverQuotaError) Error() string {
	return fmt.Sprintf("session over its write quota; retry after %s", e.RetryAfter)
}

// retryAfter is Retry-After's value: whole seconds, rounded up.
func (e *OverQuotaError) retryAfter() string {
	return fmt.Sprint(int(math.Ceil(e.RetryAfter.Seconds())))
}

// Limit returns the middleware that refuses a command past its session's
// quota (429, Retry-After, the feature's alert alertID) before its handler
// runs. A nil Quota lets everything through. It belongs after the session
// middleware, on the command routes.
func (q *Quota) Limit(alertID string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if q == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sess, _ := session.FromContext(r.Context())
			// A body of unknown length is charged as the largest a command takes.
			size := r.ContentLength
			if size < 0 || size > MaxBody {
				size = MaxBody
			}
			if wait := q.take(sess.PublicID, size, time.Now()); wait > 0 {
				Fail(w, r, q.logger, alertID, &OverQuotaError{RetryAfter: wait}, func(error) (Problem, bool) { return Problem{}, false })
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// take charges one command of size bytes to the session at now. It returns
// zero when the command may run, or how long to wait before it could: then
// nothing was charged.
func (q *Quota) take(id string, size int64, now time.Time) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sweep(now)
	b := q.sessions[id]
	if b == nil {
		b = q.newBuckets()
		q.sessions[id] = b
	}
	b.used = now
	var waits []*rate.Reservation
	var wait time.Duration
	for _, charge := range []struct {
		l *rate.Limiter
		n int
	}{{b.commands, 1}, {b.bytes, int(size)}} {
		if charge.l == nil {
			continue
		}
		res := charge.l.ReserveN(now, charge.n)
		if !res.OK() {
			// More than the bucket holds: never possible; a minute is honest.
			wait = max(wait, time.Minute)
			continue
		}
		waits = append(waits, res)
		wait = max(wait, res.DelayFrom(now))
	}
	if wait > 0 {
		for _, res := range waits {
			res.CancelAt(now)
		}
	}
	return wait
}

func (q *Quota) newBuckets() *buckets {
	b := &buckets{}
	if q.opts.CommandsPerMinute > 0 {
		b.commands = rate.NewLimiter(rate.Limit(float64(q.opts.CommandsPerMinute)/60), max(q.opts.Burst, 1))
	}
	if q.opts.BytesPerMinute > 0 {
		// The bucket holds a minute's worth, and at least one largest body.
		b.bytes = rate.NewLimiter(rate.Limit(float64(q.opts.BytesPerMinute)/60), int(max(q.opts.BytesPerMinute, MaxBody)))
	}
	return b
}

// sweep forgets sessions idle for idleAfter, at most once a minute, so that
// memory follows the number of recently active sessions.
func (q *Quota) sweep(now time.Time) {
	if now.Sub(q.swept) < time.Minute {
		return
	}
	q.swept = now
	for id, b := range q.sessions {
		if now.Sub(b.used) > idleAfter {
			delete(q.sessions, id)
		}
	}
}
