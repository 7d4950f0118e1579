package command

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"ironstar/clientip"
	"ironstar/session"
)

// QuotaOptions are the limits per session and per client address; a zero
// rate turns that limit off.
type QuotaOptions struct {
	// Session limits each session (by its public ID).
	Session Rates
	// Client limits each client address (clientip.FromContext) the same
	// way, whatever its sessions: sessions cost nothing to get, so the
	// per-session limits alone stop only a client that keeps its cookie.
	Client Rates
}

// Rates are one key's limits.
type Rates struct {
	// CommandsPerMinute is the sustained rate of commands.
	CommandsPerMinute int
	// Burst is how many commands may come at once.
	Burst int
	// BytesPerMinute is the sustained rate of request-body bytes (a
	// minute's worth may come at once): a bound on what one key can make
	// the app store, whatever its commands' sizes.
	BytesPerMinute int64
}

// idleAfter bounds how long a key's buckets are kept without a command:
// they are forgotten after between half of it and all of it, by when they
// are full again, so forgetting them changes nothing.
const idleAfter = 10 * time.Minute

// Quota limits how much each session, and each client address, may
// write: a token bucket per session (by its public ID) for commands and one
// for bytes, and the same per client address. A command past any of them
// is answered 429 with Retry-After before its handler runs, so it changes
// nothing, and is charged to none. The buckets live in this process: with
// several instances behind a balancer a budget is per instance.
type Quota struct {
	logger *slog.Logger

	mu       sync.Mutex
	sessions *keyed // nil when the session limits are off
	clients  *keyed // nil when the client limits are off
}

type buckets struct {
	commands *rate.Limiter // nil when off
	bytes    *rate.Limiter // nil when off
}

// keyed holds one kind of key's buckets (sessions, or client addresses)
// in two generations: a lookup moves a key into the current one, and
// every idleAfter/2 the current becomes the old and the old is dropped.
// So keys unused for that long go without a scan on any request.
type keyed struct {
	rates    Rates
	cur, old map[string]*buckets
	rotated  time.Time
}

func newKeyed(r Rates, now time.Time) *keyed {
	if r.off() {
		return nil
	}
	return &keyed{rates: r, cur: make(map[string]*buckets), rotated: now}
}

// get returns key's buckets at now, made full if it has none.
func (k *keyed) get(key string, now time.Time) *buckets {
	switch since := now.Sub(k.rotated); {
	case since >= idleAfter:
		// No lookup since the last rotation's half-period was up (it would
		// have rotated): every key has been idle for at least that long.
		k.cur, k.old, k.rotated = make(map[string]*buckets), nil, now
	case since >= idleAfter/2:
		k.cur, k.old, k.rotated = make(map[string]*buckets), k.cur, now
	}
	b := k.cur[key]
	if b == nil {
		if b = k.old[key]; b == nil {
			b = newBuckets(k.rates)
		}
		delete(k.old, key)
		k.cur[key] = b
	}
	return b
}

// NewQuota returns the limits, or nil (no limit) when every rate is zero.
func NewQuota(opts QuotaOptions, logger *slog.Logger) *Quota {
	now := time.Now()
	q := &Quota{logger: logger, sessions: newKeyed(opts.Session, now), clients: newKeyed(opts.Client, now)}
	if q.sessions == nil && q.clients == nil {
		return nil
	}
	return q
}

func (r Rates) off() bool { return r.CommandsPerMinute <= 0 && r.BytesPerMinute <= 0 }

// OverQuotaError is a command refused because its session, or its client
// address, is over quota.
type OverQuotaError struct {
	// RetryAfter is when the command would fit the quota again.
	RetryAfter time.Duration
}

func (e *OverQuotaError) Error() string {
	return fmt.Sprintf("over the write quota; retry after %s", e.RetryAfter)
}

// retryAfter is Retry-After's value: whole seconds, rounded up.
func (e *OverQuotaError) retryAfter() string {
	return fmt.Sprint(int(math.Ceil(e.RetryAfter.Seconds())))
}

// Limit returns the middleware that refuses a command past its session's
// or its client address's quota (429, Retry-After, the feature's alert
// alertID) before its handler runs. A nil Quota lets everything through. It
// belongs after the session middleware (and clientip's, which the router
// runs for every request), on the command routes.
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
			if wait := q.take(sess.PublicID, clientip.FromContext(r.Context()), size, time.Now()); wait > 0 {
				Fail(w, r, q.logger, alertID, &OverQuotaError{RetryAfter: wait}, nil)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// take charges one command of size bytes to the session and to the client
// at now; a client of "" (no address known) is charged nothing. It returns zero when
// the command may run, or how long to wait before it could: then nothing
// was charged to either.
func (q *Quota) take(session, client string, size int64, now time.Time) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	var charged []*buckets
	if q.sessions != nil {
		charged = append(charged, q.sessions.get(session, now))
	}
	if q.clients != nil && client != "" {
		charged = append(charged, q.clients.get(client, now))
	}
	var (
		held []*rate.Reservation
		wait time.Duration
	)
	reserve := func(l *rate.Limiter, n int) {
		if l == nil {
			return
		}
		res := l.ReserveN(now, n)
		if !res.OK() {
			// More than the bucket holds: never possible; a minute is honest.
			wait = max(wait, time.Minute)
			return
		}
		held = append(held, res)
		wait = max(wait, res.DelayFrom(now))
	}
	for _, b := range charged {
		reserve(b.commands, 1)
		reserve(b.bytes, int(size))
	}
	if wait > 0 {
		for _, res := range held {
			res.CancelAt(now)
		}
	}
	return wait
}

func newBuckets(r Rates) *buckets {
	b := &buckets{}
	if r.CommandsPerMinute > 0 {
		b.commands = rate.NewLimiter(rate.Limit(float64(r.CommandsPerMinute)/60), max(r.Burst, 1))
	}
	if r.BytesPerMinute > 0 {
		// The bucket holds a minute's worth, and at least one largest body.
		b.bytes = rate.NewLimiter(rate.Limit(float64(r.BytesPerMinute)/60), int(max(r.BytesPerMinute, MaxBody)))
	}
	return b
}
