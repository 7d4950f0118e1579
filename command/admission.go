package command

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// ErrBusy is a command refused because the process already works on as
// many commands as it may, and no place came free in time.
var ErrBusy = errors.New("at capacity: too many commands in flight")

// AdmissionOptions bound the commands one process works on at once.
type AdmissionOptions struct {
	// MaxInFlight is how many commands may run at once; 0 or less: no bound.
	MaxInFlight int
	// MaxQueued is how many more may wait for a place; past it a command
	// is refused at once.
	MaxQueued int
	// QueueTimeout is how long a command waits for a place at most.
	QueueTimeout time.Duration
}

// Admission bounds the commands the process works on at once, whoever
// sends them (Quota bounds each session and client; this bounds their
// sum). Without it, offered more than it can do, the process took every
// command and queued the excess in goroutines, NATS requests and memory:
// all of them slow, none refused. With it, a command waits for a place
// only briefly, in a short queue, and past that is answered 503 with
// Retry-After at once, so the commands it does take keep their latency,
// memory stays flat, and the backlog is gone as soon as the load drops.
//
// The bound is fixed, not adaptive: by Little's law a command accepted
// spends about (MaxInFlight+MaxQueued) / throughput in the process at
// most, of which it waits for a place never longer than QueueTimeout,
// even when throughput collapses (a NATS leader election); an adaptive
// limit earns its keep where the cost of a command varies by an order of
// magnitude, which commands here do not.
type Admission struct {
	// slots holds one token per command in flight: a buffered channel
	// hands a freed place to the longest waiting sender (the runtime's
	// send queue is FIFO), so a newcomer never overtakes the queue.
	slots     chan struct{}
	queued    atomic.Int64
	maxQueued int64
	timeout   time.Duration
	logger    *slog.Logger
	// lastWarn is when the log last said commands are being refused
	// (Unix nanoseconds): once per warnEvery, not once per refusal.
	lastWarn atomic.Int64
}

// warnEvery spaces the log's warnings while commands are refused.
const warnEvery = 10 * time.Second

// NewAdmission returns the bound, or nil (no bound) when MaxInFlight is
// not positive.
func NewAdmission(opts AdmissionOptions, logger *slog.Logger) *Admission {
	if opts.MaxInFlight <= 0 {
		return nil
	}
	return &Admission{
		slots:     make(chan struct{}, opts.MaxInFlight),
		maxQueued: int64(max(opts.MaxQueued, 0)),
		timeout:   opts.QueueTimeout,
		logger:    logger,
	}
}

// Admit returns the middleware that holds a place for each command while
// the rest of the chain runs, or answers ErrBusy as Fail does (503,
// Retry-After, the feature's alert alertID) when none comes free in time.
// A nil Admission lets everything through. It belongs before anything that
// does I/O (the session lookup reads NATS), so that refusing costs nothing.
func (a *Admission) Admit(alertID string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if a == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			release, err := a.acquire(r.Context())
			if err != nil {
				if errors.Is(err, ErrBusy) {
					a.warn()
				}
				Fail(w, r, a.logger, alertID, err, nil)
				return
			}
			defer release()
			next.ServeHTTP(w, r)
		})
	}
}

// warn logs that commands are being refused, unless it did within
// warnEvery: the request log shows each 503.
func (a *Admission) warn() {
	now := time.Now().UnixNano()
	if last := a.lastWarn.Load(); now-last > int64(warnEvery) && a.lastWarn.CompareAndSwap(last, now) {
		a.logger.Warn("command admission: at capacity, refusing commands with 503", "max_inflight", cap(a.slots), "max_queued", a.maxQueued, "queue_timeout", a.timeout)
	}
}

// acquire takes a place, waiting for one at most the queue timeout while
// fewer than MaxQueued others wait. It returns ErrBusy when none came,
// or ctx's error when the caller went away first.
func (a *Admission) acquire(ctx context.Context) (release func(), err error) {
	release = func() { <-a.slots }
	select {
	case a.slots <- struct{}{}:
		return release, nil
	default:
	}
	if a.queued.Add(1) > a.maxQueued {
		a.queued.Add(-1)
		return nil, ErrBusy
	}
	defer a.queued.Add(-1)
	timer := time.NewTimer(a.timeout)
	defer timer.Stop()
	select {
	case a.slots <- struct{}{}:
		return release, nil
	case <-timer.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
