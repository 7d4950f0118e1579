package todo

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"ironstar/command"
	"ironstar/es"
	common "ironstar/features/common/components"
	"ironstar/features/common/layouts"
	"ironstar/features/todo/components"
	"ironstar/features/todo/pages"
	"ironstar/nats/projection"
	"ironstar/session"
	"ironstar/sse"
)

type handlers struct {
	logger     *slog.Logger
	view       *projection.View[ListView]
	catchingUp func() bool
	// hub renders each change of a list once per filter for all its streams.
	hub   *sse.Hub[projection.Entry[ListView], components.Filter]
	lists *es.Handler[List, Command, Event]
}

// render is one stream frame: the list's fragments for a filter, with the
// sequence they reflect.
func (h *handlers) render(e projection.Entry[ListView], filter components.Filter) sse.Frame {
	vm := viewModel(e.Value, filter)
	vm.Live, vm.Seq = true, e.Seq
	frame, err := sse.Patch(e.Seq, components.Body(vm))
	if err != nil {
		h.logger.Error("todo: render", "err", err)
	}
	return frame
}

// viewModel picks and counts the items a filter shows.
func viewModel(l ListView, filter components.Filter) components.ListVM {
	vm := components.ListVM{Total: len(l.Items), Filter: filter, AllDone: l.AllDone, Items: make([]components.ItemVM, 0, len(l.Items))}
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
	list, err := h.view.Get(r.Context(), sess.PublicID)
	if err != nil && !errors.Is(err, projection.ErrNotFound) {
		command.Unreadable(w, r, h.logger, "the list", err)
		return
	}
	page := layouts.Page{Title: "Todos", Path: "/"}
	behind := h.catchingUp != nil && h.catchingUp()
	if err := pages.Todo(page, viewModel(list.Value, parseFilter(r)), behind).Render(r.Context(), w); err != nil {
		h.logger.DebugContext(r.Context(), "todo: render page", "err", err)
	}
}

// updates is the page's long-lived stream. Every frame is the whole list at
// a stream sequence, which is also the frame's SSE id, so a browser that
// reconnects (with Last-Event-ID) simply gets the current state.
func (h *handlers) updates(w http.ResponseWriter, r *http.Request) {
	sess, _ := session.FromContext(r.Context())
	sse.Stream(w, r, h.logger, func(ctx context.Context) (<-chan sse.Frame, error) {
		return h.hub.Subscribe(ctx, sess.PublicID, parseFilter(r))
	})
}

// commandBuilder turns a request's path and signals into a command, or
// refuses a request that lacks a signal the command needs.
type commandBuilder func(r *http.Request, s pages.Signals, cmdID string) (Command, error)

func add(_ *http.Request, s pages.Signals, cmdID string) (Command, error) {
	title, err := command.Require("title", s.Title)
	return Add{ID: itemID(cmdID), Text: title}, err
}

func setCompleted(completed bool) commandBuilder {
	return func(r *http.Request, _ pages.Signals, _ string) (Command, error) {
		return SetCompleted{ID: chi.URLParam(r, "id"), Completed: completed}, nil
	}
}

func rename(r *http.Request, s pages.Signals, _ string) (Command, error) {
	edit, err := command.Require("edit", s.Edit)
	return Rename{ID: chi.URLParam(r, "id"), Text: edit}, err
}

func remove(r *http.Request, _ pages.Signals, _ string) (Command, error) {
	return Delete{ID: chi.URLParam(r, "id")}, nil
}

func constant(c Command) commandBuilder {
	return func(*http.Request, pages.Signals, string) (Command, error) { return c, nil }
}

// itemID derives a new todo's ID from its command's ID, so a retried add
// names the same todo.
func itemID(cmdID string) string {
	sum := sha256.Sum256([]byte("item:" + cmdID))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:10]))
}

// command runs one command against the session's list. The answer is an
// SSE response (so Datastar resets its indicators) that hides the error
// line and, after an add, clears the input; the list itself changes
// through the page's stream, in this tab and every other.
func (h *handlers) command(build commandBuilder) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, _ := session.FromContext(r.Context())
		s, err := command.ReadSignals[pages.Signals](r)
		if err != nil {
			command.Fail(w, r, h.logger, errorID, err, problem)
			return
		}
		meta := command.Metadata(r)
		cmd, err := build(r, s, meta.CommandID)
		if err != nil {
			command.Fail(w, r, h.logger, errorID, err, problem)
			return
		}
		if _, err := h.lists.Handle(r.Context(), es.StreamID{Aggregate: Aggregate, ID: sess.PublicID}, cmd, meta); err != nil {
			command.Fail(w, r, h.logger, errorID, err, problem)
			return
		}
		if _, ok := cmd.(Add); ok {
			addedReply.Write(w)
			return
		}
		doneReply.Write(w)
	}
}

// errorID is the id of the page's error line.
const errorID = "todo-error"

// The answers to a command that went through: the error line hidden and,
// after an add, the input cleared.
var (
	doneReply  = sse.NewReply(sse.MustPatch(common.Alert(errorID, "")))
	addedReply = sse.NewReply(sse.MustPatch(common.Alert(errorID, "")), sse.PatchSignals(0, []byte(`{"title":""}`)))
)

// problem says how the list's own errors are answered.
func problem(err error) (command.Problem, bool) {
	switch {
	case errors.Is(err, ErrNotFound):
		return command.Problem{Status: http.StatusNotFound, Message: "That todo no longer exists."}, true
	case errors.Is(err, ErrTextTooLong):
		return command.Problem{Status: http.StatusUnprocessableEntity, Message: "A todo can be at most 500 characters long."}, true
	case errors.Is(err, ErrInvalidID):
		return command.Problem{Status: http.StatusBadRequest, Message: "That is not a todo id."}, true
	case errors.Is(err, ErrDuplicateID):
		return command.Problem{Status: http.StatusConflict, Message: "That todo exists already."}, true
	case errors.Is(err, ErrListTooLarge):
		return command.Problem{Status: http.StatusUnprocessableEntity, Message: "The list holds as much text as one list can: delete or shorten some todos first."}, true
	case errors.Is(err, ErrListFull):
		return command.Problem{Status: http.StatusConflict, Message: "The list is full: clear some todos first."}, true
	}
	return command.Problem{}, false
}
