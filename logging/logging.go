// Package logging builds the processes' *slog.Logger and carries a request's
// ID in its context, so that every line logged while serving the request
// names it.
//
// The ID travels in the context rather than in a logger stored there: code
// keeps the logger it was given and passes the request's context to the
// *Context methods (logger.InfoContext(ctx, ...)), which is what slog
// expects, and the command plumbing reads the same ID for events' metadata.
package logging

import (
	"context"
	"io"
	"log/slog"
)

// Format is how log lines are written: LOG_FORMAT.
type Format string

// The formats LOG_FORMAT accepts.
const (
	// Text is slog's key=value lines, easy on a terminal.
	Text Format = "text"
	// JSON is one JSON object a line, for log collectors.
	JSON Format = "json"
)

// RequestIDKey is the attribute a request's ID is logged under.
const RequestIDKey = "request_id"

// New returns a logger writing to w in format from level up. A record
// logged with a context that carries a request ID (see WithRequestID)
// gains a request_id attribute.
func New(w io.Writer, format Format, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if format == JSON {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(WithRequestIDs(h))
}

// WithRequestIDs wraps h so that records logged with a context carrying a
// request ID gain it as request_id.
func WithRequestIDs(h slog.Handler) slog.Handler {
	return requestIDHandler{h}
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := RequestID(ctx); id != "" {
		rec = rec.Clone()
		rec.AddAttrs(slog.String(RequestIDKey, id))
	}
	return h.Handler.Handle(ctx, rec)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

type requestIDContextKey struct{}

// WithRequestID returns ctx carrying a request's ID.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDContextKey{}, id)
}

// RequestID is the request ID ctx carries, or "".
func RequestID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	id, _ := ctx.Value(requestIDContextKey{}).(string)
	return id
}
