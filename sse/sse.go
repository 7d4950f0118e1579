// Package sse holds the plumbing every long-lived Server-Sent Events stream
// shares: a lifetime that ends when the server shuts down, and an abrupt end
// that makes the Datastar client reconnect (to this process's successor) with
// Last-Event-ID instead of giving up.
//
// http.Server.Shutdown waits for handlers but never cancels them, and a
// Datastar client does not reopen a stream the server closed cleanly. So a
// stream handler waits on Context(r) and, when it is done, calls Drop.
package sse

import (
	"context"
	"net/http"
)

type lifetimeKey struct{}

// WithLifetime is middleware that ties every request to lifetime, the
// context the composition root cancels when shutdown begins.
func WithLifetime(lifetime context.Context) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), lifetimeKey{}, lifetime)))
		})
	}
}

// Context is done when the client goes away or the server begins shutting
// down, whichever comes first.
func Context(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	if lifetime, ok := r.Context().Value(lifetimeKey{}).(context.Context); ok {
		stop := context.AfterFunc(lifetime, cancel)
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
