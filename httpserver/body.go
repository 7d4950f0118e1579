package httpserver

import (
	"io"
	"net/http"
	"time"
)

// limitBody sets a read deadline of timeout on every request that has a
// body, and clears it once the body has been read: a slow client cannot
// hold a connection by trickling its body, while a handler that takes long
// after reading it (a command waiting on JetStream) is not cut off.
//
// The deadline is the connection's, so it must not outlive the body: net/http
// watches the connection in the background after the body's end, and a
// deadline passing there would cancel the request's context.
func limitBody(next http.Handler, timeout time.Duration) http.Handler {
	if timeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(timeout)); err == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, clear: func() { rc.SetReadDeadline(time.Time{}) }}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody clears the connection's read deadline when the body ends.
type deadlineBody struct {
	io.ReadCloser
	clear   func()
	cleared bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.cleared {
		b.cleared = true
		b.clear()
	}
	return n, err
}
