package sse

import (
	"context"
	"net/http"
)

// Serve writes frames to a long-lived SSE response until ctx (from
// Context) ends or the frames end; either drops the connection, so that a
// browser that still wants the stream reconnects. It never returns while
// the stream is healthy.
func Serve(ctx context.Context, w http.ResponseWriter, frames <-chan Frame) {
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
			if _, err := w.Write(f.Data); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}
