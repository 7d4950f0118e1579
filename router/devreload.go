package router

import (
	"crypto/rand"
	"net/http"
	"time"

	"github.com/starfederation/datastar-go/datastar"

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
		stream := datastar.NewSSE(w, r)
		if last := r.Header.Get("Last-Event-ID"); last != "" && last != bootID {
			stream.ExecuteScript("window.location.reload()")
			return
		}
		// Mark the page as connected (the e2e test waits for it) and hand it
		// the boot ID as the event id it will send back after a restart.
		connected := "document.getElementById('dev-reload').dataset.boot = '" + bootID + "'"
		if err := stream.ExecuteScript(connected, datastar.WithExecuteScriptEventID(bootID)); err != nil {
			return
		}
		// Bundles rebuilt by cmd/build -watch reload the page without a
		// restart of the app (air restarts it for Go and templ changes).
		assets := resources.Version()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				sse.Drop()
			case <-tick.C:
				if resources.Version() != assets {
					stream.ExecuteScript("window.location.reload()")
					assets = resources.Version()
				}
			}
		}
	}
}
