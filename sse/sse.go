// Package sse holds the plumbing every long-lived Server-Sent Events stream
// shares: a lifetime that ends when the server shuts down, heartbeats that
// keep a quiet stream open through proxies, and an abrupt end
// that makes the Datastar client reconnect (to this process's successor) with
// Last-Event-ID instead of giving up.
//
// http.Server.Shutdown waits for handlers but never cancels them, and a
// Datastar client reopens a stream the server closed cleanly only if the
// page asked for retry 'always' (Ironstar's pages do; others may not). So a
// stream handler waits on Context(r) and, when it is done, calls Drop.
package sse

import (
	"context"
	"net/http"
	"time"
)

// Settings are what the composition root tells every stream.
type Settings struct {
	// Lifetime ends when shutdown begins: every stream then drops (see
	// Context).
	Lifetime context.Context
	// Heartbeat is how often a stream sends a comment that keeps proxies
	// and balancers from cutting it as idle (SSE_HEARTBEAT); 0 sends none.
	Heartbeat time.Duration
	// Meter, if set, counts the streams Stream serves (the app's metrics).
	Meter Meter
}

// Meter counts streams: Opened is called as Stream opens one, and what it
// returns is told of that stream's frames and of its end.
type Meter interface {
	Opened(r *http.Request) StreamMeter
}

// StreamMeter counts one stream's frames. Its methods may be called from
// several goroutines.
type StreamMeter interface {
	// Sent: a frame was written to the client.
	Sent()
	// Dropped: a frame was replaced by a newer one before the stream
	// wrote it (a slow client; see Hub).
	Dropped()
	// Closed: the stream ended.
	Closed()
}

type meterKey struct{}

// opened returns the meter of the stream r opens, and ctx carrying it for
// the subscriptions made with ctx; nil if the request's Settings have none.
func opened(ctx context.Context, r *http.Request) (context.Context, StreamMeter) {
	s, ok := r.Context().Value(settingsKey{}).(Settings)
	if !ok || s.Meter == nil {
		return ctx, nil
	}
	m := s.Meter.Opened(r)
	return context.WithValue(ctx, meterKey{}, m), m
}

// meterOf is the meter of the stream ctx belongs to, or one that counts
// nothing.
func meterOf(ctx context.Context) StreamMeter {
	if m, ok := ctx.Value(meterKey{}).(StreamMeter); ok {
		return m
	}
	return noMeter{}
}

type noMeter struct{}

func (noMeter) Sent()    {}
func (noMeter) Dropped() {}
func (noMeter) Closed()  {}

type settingsKey struct{}

// WithSettings is middleware that hands every request's streams the
// composition root's settings.
func WithSettings(s Settings) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), settingsKey{}, s)))
		})
	}
}

// DefaultHeartbeat is the heartbeat of a stream whose request carries no
// Settings: well inside the 60 s idle timeout of nginx and of common cloud
// balancers.
const DefaultHeartbeat = 15 * time.Second

func heartbeatOf(ctx context.Context) time.Duration {
	if s, ok := ctx.Value(settingsKey{}).(Settings); ok {
		return s.Heartbeat
	}
	return DefaultHeartbeat
}

// Context is done when the client goes away or the server begins shutting
// down, whichever comes first.
func Context(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	if s, ok := r.Context().Value(settingsKey{}).(Settings); ok && s.Lifetime != nil {
		stop := context.AfterFunc(s.Lifetime, cancel)
		return ctx, func() { stop(); cancel() }
	}
	return ctx, cancel
}

// Drop ends the stream without the closing chunk, so the browser sees a
// dropped connection and retries. It never returns: net/http recovers the
// http.ErrAbortHandler panic silently.
func Drop() {
	panic(http.ErrAbortHandler)
}
