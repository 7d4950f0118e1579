package todo

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/starfederation/datastar-go/datastar"

	"ironstar/es"
	"ironstar/features/common/layouts"
	"ironstar/features/todo/components"
	"ironstar/features/todo/pages"
	"ironstar/nats/projection"
	"ironstar/session"
	"ironstar/sse"
)

type handlers struct {
	logger *slog.Logger
	view   *projection.View[ListView]
	// hub renders each change of a list once per filter for all its streams.
	hub   *sse.Hub[projection.Entry[ListView], components.Filter]
	lists es.Handler[List, Command, Event]
}

// render is one stream frame: the list's fragments for a filter, with the
// sequence they reflect.
func (h *handlers) render(e projection.Entry[ListView], filter components.Filter) sse.Frame {
	vm := viewModel(e.Value, filter)
	vm.Live, vm.Seq = true, e.Seq
	var html bytes.Buffer
	if err := components.Body(vm).Render(context.Background(), &html); err != nil {
		h.logger.Error("todo: render", "err", err)
	}
	return sse.PatchElements(e.Seq, html.Bytes())
}

// viewModel picks and counts the items a filter shows.
func viewModel(l ListView, filter components.Filter) components.ListVM {
	vm := components.ListVM{Total: len(l.Items), Filter: filter}
	for _, it := range l.Items {
		if it.Completed {
			vm.Done++
		} else {
			vm.Left++
		}
		if filter == components.All || (filter == components.Completed) == it.Completed {
			vm.Items = append(vm.Items, components.ItemVM{ID: it.ID, Text: it.Text, Completed: it.Completed})
		}
	}
	return vm
}

func parseFilter(r *http.Request) components.Filter {
	switch f := components.Filter(r.URL.Query().Get("filter")); f {
	case components.Active, components.Completed:
		return f
	}
	return components.All
}

func (h *handlers) page(w http.ResponseWriter, r *http.Request) {
	sess, _ := session.FromContext(r.Context())
	list, err := h.view.Get(r.Context(), sess.ListID)
	if err != nil && !errors.Is(err, projection.ErrNotFound) {
		h.logger.Error("todo: read list", "err", err)
		http.Error(w, "the list cannot be read right now, try again shortly", http.StatusServiceUnavailable)
		return
	}
	page := layouts.Page{Title: "Todos", Path: "/"}
	if err := pages.Todo(page, viewModel(list.Value, parseFilter(r))).Render(r.Context(), w); err != nil {
		h.logger.Debug("todo: render page", "err", err)
	}
}

// updates is the page's long-lived stream. Every frame is the whole list at
// a stream sequence, which is also the frame's SSE id, so a browser that
// reconnects (with Last-Event-ID) simply gets the current state.
func (h *handlers) updates(w http.ResponseWriter, r *http.Request) {
	sess, _ := session.FromContext(r.Context())
	ctx, cancel := sse.Context(r)
	defer cancel()
	frames, err := h.hub.Subscribe(ctx, sess.ListID, parseFilter(r))
	if err != nil {
		h.logger.Error("todo: subscribe", "err", err)
		http.Error(w, "updates are unavailable, retrying", http.StatusServiceUnavailable)
		return
	}
	sse.Serve(ctx, w, frames)
}

// datastarOnly refuses requests that do not come from Datastar: the
// commands answer only the page's own actions.
func datastarOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Datastar-Request") != "true" {
			http.Error(w, "this endpoint answers Datastar requests only", http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// commandBuilder turns a request's path and signals into a command.
type commandBuilder func(r *http.Request, s signals, cmdID string) Command

func add(_ *http.Request, s signals, cmdID string) Command {
	return Add{ID: itemID(cmdID), Text: s.Title}
}

func setCompleted(completed bool) commandBuilder {
	return func(r *http.Request, _ signals, _ string) Command {
		return SetCompleted{ID: chi.URLParam(r, "id"), Completed: completed}
	}
}

func rename(r *http.Request, s signals, _ string) Command {
	return Rename{ID: chi.URLParam(r, "id"), Text: s.Edit}
}

func remove(r *http.Request, _ signals, _ string) Command {
	return Delete{ID: chi.URLParam(r, "id")}
}

func constant(c Command) commandBuilder {
	return func(*http.Request, signals, string) Command { return c }
}

// itemID derives a new todo's ID from its command's ID, so a retried add
// names the same todo.
func itemID(cmdID string) string {
	sum := sha256.Sum256([]byte("item:" + cmdID))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:10]))
}

// command runs one command against the session's list. The answer is an
// SSE response (so Datastar resets its indicators) that clears the error
// line and, after an add, the input; the list itself changes through the
// page's stream, in this tab and every other.
func (h *handlers) command(build commandBuilder) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, _ := session.FromContext(r.Context())
		s, err := decodeSignals(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		cmdID := commandID(r)
		cmd := build(r, s, cmdID)
		meta := es.Metadata{
			CommandID:     cmdID,
			CorrelationID: middleware.GetReqID(r.Context()),
			Session:       sess.ListID, // a public handle: never the cookie
			OccurredAt:    time.Now().UTC(),
		}
		if _, err := h.lists.Handle(r.Context(), es.StreamID{Aggregate: aggregate, ID: sess.ListID}, cmd, meta); err != nil {
			h.fail(w, r, err)
			return
		}
		stream := datastar.NewSSE(w, r)
		stream.PatchElementTempl(components.Error(""))
		if _, ok := cmd.(Add); ok {
			stream.MarshalAndPatchSignals(map[string]string{"title": ""})
		}
	}
}

// commandID is the request's Idempotency-Key (the page sends a fresh one
// per action, and a retried request repeats it), or a new random ID.
func commandID(r *http.Request) string {
	if key := r.Header.Get("Idempotency-Key"); key != "" && len(key) <= 64 && validID(key) {
		return key
	}
	return rand.Text()
}

// fail is the one place where command errors become HTTP answers. The body
// is the error fragment: Datastar morphs a non-2xx HTML answer into the
// page. Infrastructure errors are logged, never shown.
func (h *handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, message := http.StatusInternalServerError, "Something went wrong; please try again."
	switch {
	case errors.Is(err, errTooLarge):
		code, message = http.StatusRequestEntityTooLarge, "That request is too large."
	case errors.Is(err, errMalformed):
		code, message = http.StatusBadRequest, "The request's signals are malformed: expected JSON like {\"title\": \"…\"}."
	case errors.Is(err, ErrNotFound):
		code, message = http.StatusNotFound, "That todo no longer exists."
	case errors.Is(err, ErrTextTooLong):
		code, message = http.StatusUnprocessableEntity, "A todo can be at most 500 characters long."
	case errors.Is(err, ErrInvalidID), errors.Is(err, es.ErrInvalidStreamID):
		code, message = http.StatusBadRequest, "That is not a todo id."
	case errors.Is(err, ErrDuplicateID):
		code, message = http.StatusConflict, "That todo exists already."
	case errors.Is(err, ErrListFull):
		code, message = http.StatusConflict, "The list is full: clear some todos first."
	case errors.Is(err, es.ErrConcurrency):
		code, message = http.StatusConflict, "The list is busy; please try again."
	case errors.Is(err, context.Canceled):
		return // the client went away
	default:
		h.logger.Error("todo: command", "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	components.Error(message).Render(r.Context(), w)
}
