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
// request's Limiter (see WithLimiter), the answer is a 503, which Datastar
// does not retry by itself; the page's retry options decide.
func Stream(w http.ResponseWriter, r *http.Request, logger *slog.Logger, subscribe func(context.Context) (<-chan Frame, error)) {
	release, ok := admit(w, r)
	if !ok {
		return
	}
	defer release()
	ctx, cancel := Context(r)
	defer cancel()
	frames, err := subscribe(ctx)
	if err != nil {
		logger.Error("stream: subscribe", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		http.Error(w, "updates are unavailable, try again shortly", http.StatusServiceUnavailable)
		return
	}
	Serve(ctx, w, frames)
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

// writeTimeout bounds writing one frame. A reading browser takes a frame in
// milliseconds; a slow one skips frames rather than queueing them (see Hub).
const writeTimeout = 30 * time.Second

func serve(ctx context.Context, w http.ResponseWriter, frames <-chan Frame, writeTimeout time.Duration) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			Drop()
		case f, ok := <-frames:
			if !ok {
				Drop()
			}
			// Without a deadline the write would wait for a reader for ever;
			// where the writer cannot take one, there is none.
			_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := w.Write(f.Data); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}
