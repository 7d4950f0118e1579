package router

import (
	"context"
	"crypto/rand"
	"net/http"
	"time"

	"ironstar/sse"
	"ironstar/web/resources"
)

// newBootID names one run of the process.
func newBootID() string { return rand.Text() } // base32: safe inside a JS string

// devReload keeps a stream open to every page of a dev build. Its first
// event carries this process's boot ID as the SSE id. When air restarts the
// app, the stream drops, the page retries against the new process with that
// old id in Last-Event-ID, and the new process tells it to reload.
func devReload(bootID string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := sse.Context(r)
		defer cancel()
		frames := make(chan sse.Frame, 1)
		if last := r.Header.Get("Last-Event-ID"); last != "" && last != bootID {
			frames <- sse.ExecuteScript("", "window.location.reload()")
			close(frames)
			sse.Serve(ctx, w, frames)
			return
		}
		// Mark the page as connected (the e2e test waits for it) and hand it
		// the boot ID as the event id it will send back after a restart.
		frames <- sse.ExecuteScript(bootID, "document.getElementById('dev-reload').dataset.boot = '"+bootID+"'")
		go reloadOnNewAssets(ctx, frames)
		sse.Serve(ctx, w, frames)
	}
}

// reloadOnNewAssets sends a reload when the bundles change: cmd/build
// -watch rebuilds them without a restart of the app (air restarts it for Go
// and templ changes).
func reloadOnNewAssets(ctx context.Context, frames chan<- sse.Frame) {
	assets := resources.Version()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if v := resources.Version(); v != assets {
				assets = v
				select {
				case frames <- sse.ExecuteScript("", "window.location.reload()"):
				default: // one is waiting already
				}
			}
		}
	}
}
