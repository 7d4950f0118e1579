package router

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// logRequests writes a line for a request when it ends (for an SSE stream,
// when the stream closes): for every request if all is set, otherwise for
// those answered 4xx or 5xx or that took slow or longer.
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
					slog.String("id", middleware.GetReqID(r.Context())),
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
				logger.Error("panic", "path", r.URL.Path, "panic", rec, "stack", string(debug.Stack()))
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
