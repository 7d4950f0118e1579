package router

import (
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"ironstar/logging"
)

// requestIDHeader names a request's ID, inbound from a proxy and outbound
// to the client.
const requestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an inbound request ID. The ID is logged with every
// line of the request and stored in the metadata of the events its command
// records, so it must stay short and plain.
const maxRequestIDLen = 64

// requestID gives each request an ID in its context (see package logging)
// and in the X-Request-Id response header: the inbound X-Request-Id when it
// is short and plain (a proxy in front usually sets one), else a new random
// one. Anything else a client sends is not trusted into logs and events.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !plainRequestID(id) {
			id = rand.Text()
		}
		w.Header().Set(requestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(logging.WithRequestID(r.Context(), id)))
	})
}

// plainRequestID reports whether id is 1 to maxRequestIDLen characters of
// letters, digits and . _ : -.
func plainRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// logRequests writes a line for a request when it ends (for an SSE stream,
// when the stream closes): for every request if all is set, otherwise for
// those answered 4xx or 5xx or that took slow or longer. The request's ID
// comes from its context, as on every line its handler logs.
func logRequests(logger *slog.Logger, all bool, slow time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				status := ww.Status()
				if status == 0 {
					status = http.StatusOK
				}
				took := time.Since(start)
				if !all && status < 400 && (took < slow || isStream(ww)) {
					return
				}
				logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Int("bytes", ww.BytesWritten()),
					slog.Duration("took", took),
				)
			}()
			next.ServeHTTP(ww, r)
		})
	}
}

// slowRequest is how long a request may take before it is logged whatever
// its status. SSE streams, open for as long as their page, are not slow.
const slowRequest = time.Second

func isStream(w http.ResponseWriter) bool {
	return strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream")
}

// recoverPanics turns a handler's panic into a logged error and a 500, and
// lets the deliberate http.ErrAbortHandler through so that net/http drops
// the connection (see package sse).
func recoverPanics(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				rec := recover()
				if rec == nil {
					return
				}
				if err, ok := rec.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(rec)
				}
				logger.ErrorContext(r.Context(), "panic", "path", r.URL.Path, "panic", rec, "stack", string(debug.Stack()))
				w.WriteHeader(http.StatusInternalServerError)
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// compressPages gzips pages and assets. Datastar requests pass straight
// through: their answers are SSE streams of small frames, where the
// compressor's per-write work costs more than it saves (a third of the CPU
// of a fan-out, measured by BenchmarkTodoFanout).
func compressPages() func(http.Handler) http.Handler {
	compress := middleware.Compress(5, "text/html", "text/css", "text/javascript", "application/javascript", "application/json", "image/svg+xml")
	return func(next http.Handler) http.Handler {
		compressed := compress(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Datastar-Request") == "true" {
				next.ServeHTTP(w, r)
				return
			}
			compressed.ServeHTTP(w, r)
		})
	}
}
