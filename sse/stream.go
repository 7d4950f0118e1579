package sse

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Stream answers a page's long-lived GET: subscribe (called with the
// stream's lifetime, see Context) provides the frames, and Serve writes
// them. If subscribing fails, or the stream would pass a cap of the
// request's Limiter (see WithLimiter), the answer is a 503 with
// Retry-After, which the page's stream asks again after (see refuse).
func Stream(w http.ResponseWriter, r *http.Request, logger *slog.Logger, subscribe func(context.Context) (<-chan Frame, error)) {
	release, ok := admit(w, r)
	if !ok {
		return
	}
	defer release()
	ctx, cancel := Context(r)
	defer cancel()
	ctx, meter := opened(ctx, r)
	if meter != nil {
		defer meter.Closed()
	}
	frames, err := subscribe(ctx)
	if err != nil {
		logger.ErrorContext(r.Context(), "stream: subscribe", "path", r.URL.Path, "err", err)
		refuse(w, "updates are unavailable, try again shortly")
		return
	}
	Serve(ctx, w, frames)
}

// refuse answers a stream that cannot be served now: 503 with
// Retry-After. The pages open their streams with retry 'always'
// (components.Stream), so Datastar asks again, on its own backoff: a
// non-2xx answer is retried only in that mode (Datastar 1.0 reads neither
// its body nor Retry-After).
func refuse(w http.ResponseWriter, message string) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	http.Error(w, message, http.StatusServiceUnavailable)
}

// Serve writes frames to a long-lived SSE response until ctx (from
// Context) ends or the frames end; either drops the connection, so that a
// browser that still wants the stream reconnects. It never returns while
// the stream is healthy. A frame that cannot be written within
// writeTimeout ends the stream: a client that stops reading would otherwise
// hold its connection, and its place under the stream caps, for ever.
func Serve(ctx context.Context, w http.ResponseWriter, frames <-chan Frame) {
	serve(ctx, w, frames, writeTimeout)
}

// writeTimeout bounds writing one frame (half of it at least, see serve). A
// reading browser takes a frame in milliseconds; a slow one skips frames
// rather than queueing them (see Hub).
const writeTimeout = 30 * time.Second

func serve(ctx context.Context, w http.ResponseWriter, frames <-chan Frame, writeTimeout time.Duration) {
	// The headers Datastar's SDK specification (sdk/ADR.md) requires.
	// (HTTP/2 drops Connection, as it must.)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return
	}
	var deadline time.Time
	write := func(data []byte) bool {
		// Without a deadline the write would wait for a reader for ever;
		// where the writer cannot take one, there is none. It is moved
		// only once half spent (each move re-arms a timer, a cost of its
		// own with a thousand streams), so a frame gets between half of
		// writeTimeout and all of it.
		if now := time.Now(); deadline.Sub(now) < writeTimeout/2 {
			deadline = now.Add(writeTimeout)
			_ = rc.SetWriteDeadline(deadline)
		}
		if _, err := w.Write(data); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	meter := meterOf(ctx)
	var beat <-chan time.Time
	if every := heartbeatOf(ctx); every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		beat = t.C
	}
	for {
		select {
		case <-ctx.Done():
			Drop()
		case <-beat:
			if !write(heartbeat) {
				return
			}
		case f, ok := <-frames:
			if !ok {
				Drop()
			}
			if !write(f.Data) {
				return
			}
			meter.Sent()
		}
	}
}

// heartbeat is what a stream sends every heartbeat interval: a comment,
// which no SSE parser (a browser's, or Datastar's) hands on as an event,
// but which keeps proxies and balancers from cutting a quiet stream as
// idle.
var heartbeat = []byte(": heartbeat\n\n")
