package router

import (
	"crypto/rand"
	"net/http"

	"github.com/starfederation/datastar-go/datastar"

	"ironstar/sse"
)

// newBootID names one run of the process.
func newBootID() string { return rand.Text() }

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
		if err := stream.PatchSignals([]byte("{}"), datastar.WithPatchSignalsEventID(bootID)); err != nil {
			return
		}
		<-ctx.Done()
		sse.Drop()
	}
}
