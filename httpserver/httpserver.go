// Package httpserver budgets what HTTP clients may hold of the process's
// file descriptors, which it shares with the embedded NATS server's
// JetStream files: when JetStream cannot open a file, a stream can record a
// write error and stay broken after the load is gone. So connections are
// capped at half the descriptors (and SSE streams, see sse.Limiter, below
// that), idle keep-alive connections are closed, and a request body must
// arrive within a deadline.
package httpserver

import (
	"log/slog"
	"net/http"
	"time"
)

// Options are the server's limits; zero caps are derived from the
// descriptor limit by NewBudget.
type Options struct {
	// MaxConns caps the connections open at once; 0 is half the fd limit.
	MaxConns int
	// MaxStreams caps the SSE streams open at once; 0 is three quarters
	// of MaxConns, so that pages and commands still get connections while
	// every stream place is taken.
	MaxStreams int
	// MaxStreamsPerSession caps one session's streams (its open tabs).
	MaxStreamsPerSession int
	// MaxStreamsPerClient caps one client address's streams, whatever its
	// sessions; 0 is a quarter of MaxStreams, so that no one address can
	// take every place.
	MaxStreamsPerClient int
	// IdleTimeout closes a keep-alive connection idle for this long.
	IdleTimeout time.Duration
	// BodyTimeout bounds reading a request's body, from the moment its
	// handler starts; a trickled body is cut.
	BodyTimeout time.Duration
}

// Defaults without a descriptor limit to derive from (non-Unix systems),
// and the bound on derived caps.
const (
	fallbackMaxConns = 4096
	// maxDerivedConns bounds a cap derived from a large fd limit (a million
	// is common): every connection also costs a goroutine and ~10 KB of
	// buffers, so a higher cap must be asked for explicitly.
	maxDerivedConns = 1 << 16
)

// Budget is what the process allows HTTP clients, derived once at start:
// Options with every cap filled in.
type Budget struct {
	// FDLimit is the soft RLIMIT_NOFILE after raising it (0: unknown).
	FDLimit uint64
	Options
}

// NewBudget fills the caps opts leaves at zero from fdLimit.
func NewBudget(opts Options, fdLimit uint64) Budget {
	b := Budget{FDLimit: fdLimit, Options: opts}
	if b.MaxConns <= 0 {
		b.MaxConns = fallbackMaxConns
		if fdLimit > 0 {
			b.MaxConns = int(min(fdLimit/2, maxDerivedConns))
		}
	}
	if b.MaxStreams <= 0 {
		b.MaxStreams = max(1, b.MaxConns*3/4)
	}
	// Every stream holds a connection: places past MaxConns could never be
	// taken.
	b.MaxStreams = min(b.MaxStreams, b.MaxConns)
	if b.MaxStreamsPerClient <= 0 {
		b.MaxStreamsPerClient = max(1, b.MaxStreams/4)
	}
	// A cap at or above MaxStreams is no per-client cap at all.
	b.MaxStreamsPerClient = min(b.MaxStreamsPerClient, b.MaxStreams)
	return b
}

// LogAttrs describes the budget for the start-up log line.
func (b Budget) LogAttrs() []any {
	return []any{"fd_limit", b.FDLimit, "max_conns", b.MaxConns, "max_streams", b.MaxStreams,
		"max_streams_per_session", b.MaxStreamsPerSession, "max_streams_per_client", b.MaxStreamsPerClient, "idle_timeout", b.IdleTimeout, "body_timeout", b.BodyTimeout}
}

// Overcommitted reports whether the connections may take more than half
// the descriptors: allowed (an operator may know better), but worth a
// warning.
func (b Budget) Overcommitted() bool {
	return b.FDLimit > 0 && uint64(b.MaxConns) > b.FDLimit/2
}

// NewServer returns a server for handler with the budget's timeouts. There
// is no ReadTimeout or WriteTimeout: they would cut SSE streams, which are
// long-lived GETs. Headers must arrive within readHeaderTimeout, bodies
// within BodyTimeout, and idle connections close after IdleTimeout.
func NewServer(handler http.Handler, b Budget, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           limitBody(handler, b.BodyTimeout),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       b.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// readHeaderTimeout also closes a connection that sends nothing at all.
const readHeaderTimeout = 10 * time.Second
