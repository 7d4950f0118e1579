package todo

import (
	"errors"
	"strings"
	"testing"

	"ironstar/features/common/command"
)

func TestDecodeSignals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		want       signals
		err        error
	}{
		{"the page's signals", `{"title":"milk","edit":"","_editing":""}`, signals{Title: "milk"}, nil},
		{"no body", ``, signals{}, nil},
		{"unknown signals are ignored", `{"other":1,"edit":"x"}`, signals{Edit: "x"}, nil},
		{"not JSON", `title=milk`, signals{}, command.ErrMalformed},
		{"a title that is not a string", `{"title":5}`, signals{}, command.ErrMalformed},
		{"truncated", `{"title":"mi`, signals{}, command.ErrMalformed},
		{"too large", `{"title":"` + strings.Repeat("x", command.MaxBody) + `"}`, signals{}, command.ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := command.DecodeSignals[signals](strings.NewReader(tc.body))
			if !errors.Is(err, tc.err) || (tc.err == nil && got != tc.want) {
				t.Errorf("decodeSignals(%.40q) = %+v, %v; want %+v, %v", tc.body, got, err, tc.want, tc.err)
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
		s, err := command.DecodeSignals[signals](strings.NewReader(body))
		if err != nil {
			if !errors.Is(err, command.ErrMalformed) && !errors.Is(err, command.ErrTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		for _, cmd := range []Command{
			Add{ID: id, Text: s.Title}, Rename{ID: id, Text: s.Edit}, SetCompleted{ID: id, Completed: true},
			Delete{ID: id}, SetAllCompleted{Completed: true}, ClearCompleted{},
		} {
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
