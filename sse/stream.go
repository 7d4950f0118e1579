package sse

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Stream answers a page's long-lived GET: subscribe (called with the
// stream's lifetime, see Context) provides the frames, and Serve writes
// them. If subscribing fails, or the stream would pass a cap of the
// request's Limiter (see WithLimiter), the answer is a 503 that Datastar
// retries after its Retry-After (see refuse).
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
		refuse(w, r, "updates are unavailable, try again shortly")
		return
	}
	Serve(ctx, w, frames)
}

// RetryLater is the body of a refused Datastar stream: a comment saying
// why, and SSE's retry field set to afterSeconds. Sent in a response that
// then breaks, it makes the Datastar client ask again that much later (see
// refuse).
func RetryLater(why string, afterSeconds int) string {
	b := appendLines(nil, ": ", []byte(why))
	return string(b) + "retry: " + strconv.Itoa(afterSeconds*1000) + "\n\n"
}

// refuse answers a stream that cannot be served now: 503 with Retry-After.
// The Datastar client (RC.1) retries only a stream that breaks, whatever
// the page's retry options: a 503's body it reads as a stream that ended,
// and the page would stay without updates until reloaded. So a Datastar
// request gets its 503 as an event stream that sets the client's retry
// interval to Retry-After (SSE's retry field, which Datastar honours) and
// then breaks (Drop): the page asks again after Retry-After, and keeps
// asking at that pace while refused. Other clients get a plain 503. It
// never returns for a Datastar request.
func refuse(w http.ResponseWriter, r *http.Request, message string) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	if r.Header.Get("Datastar-Request") != "true" {
		http.Error(w, message, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusServiceUnavailable)
	// The headers go first, so that the client is reading the body when
	// the retry field comes; the field is flushed, or the break would lose
	// it. A client not yet reading when the break comes loses it anyway and
	// retries at the page's own interval, until one takes it.
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	io.WriteString(w, RetryLater(message, retryAfter))
	_ = rc.Flush()
	Drop()
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
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
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
		}
	}
}

// heartbeat is what a stream sends every heartbeat interval: a comment,
// which no SSE parser (a browser's, or Datastar's) hands on as an event,
// but which keeps proxies and balancers from cutting a quiet stream as
// idle.
var heartbeat = []byte(": heartbeat\n\n")
