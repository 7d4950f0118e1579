package todo

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"ironstar/command"
	"ironstar/features/todo/pages"
)

// show prints signals with their pointers followed, nil as <none>.
func show(s pages.Signals) string {
	str := func(p *string) string {
		if p == nil {
			return "<none>"
		}
		return fmt.Sprintf("%q", *p)
	}
	return "title " + str(s.Title) + ", edit " + str(s.Edit)
}

func TestDecodeSignals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		want       string
		err        error
	}{
		{"the page's signals", `{"title":"milk","edit":"","_editing":""}`, `title "milk", edit ""`, nil},
		{"no body", ``, `title <none>, edit <none>`, nil},
		{"null", `null`, `title <none>, edit <none>`, nil},
		{"a null signal", `{"edit":null}`, `title <none>, edit <none>`, nil},
		{"unknown signals are ignored", `{"other":1,"edit":"x"}`, `title <none>, edit "x"`, nil},
		{"not JSON", `title=milk`, "", command.ErrMalformed},
		{"a title that is not a string", `{"title":5}`, "", command.ErrMalformed},
		{"truncated", `{"title":"mi`, "", command.ErrMalformed},
		{"too large", `{"title":"` + strings.Repeat("x", command.MaxBody) + `"}`, "", command.ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := command.DecodeSignals[pages.Signals](strings.NewReader(tc.body))
			if !errors.Is(err, tc.err) || (tc.err == nil && show(got) != tc.want) {
				t.Errorf("decodeSignals(%.40q) = %s, %v; want %s, %v", tc.body, show(got), err, tc.want, tc.err)
			}
		})
	}
}

// builders are the routes' command builders, by route.
var builders = map[string]commandBuilder{
	"POST /todos": add, "PUT /todos/{id}": rename, "DELETE /todos/{id}": remove,
	"POST /todos/{id}/complete": setCompleted(true), "POST /todos/{id}/reopen": setCompleted(false),
	"POST /todos/clear-completed": constant(ClearCompleted{}),
}

// build runs a builder on a request for the todo id with the given body.
func build(t testing.TB, route, id, body string) (Command, error) {
	s, err := command.DecodeSignals[pages.Signals](strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	r := httptest.NewRequest("POST", "/todos/x", nil) // the id comes from the route's parameter
	rctx := chi.NewRouteContext()
	rctx.URLParams.Add("id", id)
	r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rctx))
	return builders[route](r, s, "cmd-1")
}

func TestCommandsMissingASignalTheyNeedAreRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		route, body string
		want        string // the command, or the error
	}{
		{"PUT /todos/{id}", `{"edit":"eggs"}`, `todo.Rename{ID:"a1", Text:"eggs"}`},
		{"PUT /todos/{id}", `{"edit":""}`, `todo.Rename{ID:"a1", Text:""}`}, // the page's way to delete
		{"PUT /todos/{id}", `{}`, `missing signal "edit"`},
		{"PUT /todos/{id}", `null`, `missing signal "edit"`},
		{"PUT /todos/{id}", ``, `missing signal "edit"`},
		{"PUT /todos/{id}", `{"edit":null,"title":"x"}`, `missing signal "edit"`},
		{"POST /todos", `{"title":"milk"}`, `todo.Add{ID:"` + itemID("cmd-1") + `", Text:"milk"}`},
		{"POST /todos", `{"title":""}`, `todo.Add{ID:"` + itemID("cmd-1") + `", Text:""}`},
		{"POST /todos", `{}`, `missing signal "title"`},
		{"POST /todos", ``, `missing signal "title"`},
		{"DELETE /todos/{id}", ``, `todo.Delete{ID:"a1"}`},
		{"POST /todos/{id}/complete", `null`, `todo.SetCompleted{ID:"a1", Completed:true}`},
		{"POST /todos/clear-completed", ``, `todo.ClearCompleted{}`},
	}
	for _, tc := range cases {
		t.Run(tc.route+" "+tc.body, func(t *testing.T) {
			t.Parallel()
			cmd, err := build(t, tc.route, "a1", tc.body)
			got := fmt.Sprintf("%#v", cmd)
			if err != nil {
				got = err.Error()
				if !errors.Is(err, command.ErrMissingSignal) {
					t.Errorf("error %v is not ErrMissingSignal", err)
				}
			}
			if got != tc.want {
				t.Errorf("%s with %q = %s; want %s", tc.route, tc.body, got, tc.want)
			}
		})
	}
}

// FuzzDecodeCommand feeds arbitrary bodies through decoding and into every
// command the handlers build: nothing may panic, and whatever decodes must
// either be refused with a known error or produce events that respect the
// rules.
func FuzzDecodeCommand(f *testing.F) {
	f.Add(`{"title":"milk"}`, "a1")
	f.Add(`{"edit":"  "}`, "a1")
	f.Add(`{"title":"`+strings.Repeat("é", 501)+`"}`, "x")
	f.Add(`{"title":null,"edit":[1]}`, "")
	f.Add("\xff\xfe", "../..")
	given := Decider().Fold(Added{ID: "a1", Text: "milk"}, Added{ID: "b2", Text: "eggs"}, Completed{ID: "b2"})
	f.Fuzz(func(t *testing.T, body, id string) {
		for route := range builders {
			cmd, err := build(t, route, id, body)
			if err != nil {
				if !errors.Is(err, command.ErrMalformed) && !errors.Is(err, command.ErrTooLarge) && !errors.Is(err, command.ErrMissingSignal) {
					t.Fatalf("unexpected error %v", err)
				}
				continue
			}
			if add, ok := cmd.(Add); ok {
				add.ID = id // the fuzzed id, as a browser could send it
				cmd = add
			}
			events, err := Decide(given, cmd)
			if err != nil {
				if !knownError(err) {
					t.Fatalf("%#v: unexpected error %v", cmd, err)
				}
				continue
			}
			for _, e := range events {
				switch e := e.(type) {
				case Added:
					if e.Text == "" || len([]rune(e.Text)) > MaxTextLength || e.Text != strings.TrimSpace(e.Text) || !validID(e.ID) {
						t.Fatalf("%#v produced %#v", cmd, e)
					}
				case Renamed:
					if e.Text == "" || len([]rune(e.Text)) > MaxTextLength {
						t.Fatalf("%#v produced %#v", cmd, e)
					}
				}
			}
		}
	})
}

func knownError(err error) bool {
	for _, known := range []error{ErrTextTooLong, ErrNotFound, ErrDuplicateID, ErrListFull, ErrListTooLarge, ErrInvalidID} {
		if errors.Is(err, known) {
			return true
		}
	}
	return false
}
