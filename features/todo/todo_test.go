package todo

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"ironstar/es/estest"
)

type tc = estest.Case[List, Command, Event]

func TestDecide(t *testing.T) {
	long := strings.Repeat("é", MaxTextLength)
	added := func(id, text string) Event { return Added{ID: id, Text: text} }
	full := make([]Event, MaxItems)
	for i := range full {
		full[i] = added("i"+strconv.Itoa(i), "t")
	}
	estest.Run(t, Decider(), []tc{
		// Adding
		{Name: "adding to an empty list", When: Add{ID: "a", Text: "milk"}, Then: []Event{added("a", "milk")}},
		{Name: "added text is trimmed", When: Add{ID: "a", Text: "  milk \n"}, Then: []Event{added("a", "milk")}},
		{Name: "an empty text is ignored", When: Add{ID: "a", Text: "   "}},
		{Name: "500 characters are accepted", When: Add{ID: "a", Text: " " + long + " "}, Then: []Event{added("a", long)}},
		{Name: "501 characters are refused", When: Add{ID: "a", Text: long + "x"}, Err: ErrTextTooLong},
		{Name: "an item id is unique", Given: []Event{added("a", "milk")}, When: Add{ID: "a", Text: "eggs"}, Err: ErrDuplicateID},
		{Name: "an item id must be a safe token", When: Add{ID: "a b", Text: "eggs"}, Err: ErrInvalidID},
		{Name: "an empty item id is refused", When: Add{ID: "", Text: "eggs"}, Err: ErrInvalidID},
		{Name: "a full list refuses more", Given: full, When: Add{ID: "one-more", Text: "x"}, Err: ErrListFull},
		// Completing
		{Name: "completing an open todo", Given: []Event{added("a", "milk")}, When: SetCompleted{ID: "a", Completed: true}, Then: []Event{Completed{ID: "a"}}},
		{Name: "completing a completed todo does nothing", Given: []Event{added("a", "milk"), Completed{ID: "a"}}, When: SetCompleted{ID: "a", Completed: true}},
		{Name: "reopening a completed todo", Given: []Event{added("a", "milk"), Completed{ID: "a"}}, When: SetCompleted{ID: "a", Completed: false}, Then: []Event{Reopened{ID: "a"}}},
		{Name: "reopening an open todo does nothing", Given: []Event{added("a", "milk")}, When: SetCompleted{ID: "a"}},
		{Name: "completing a missing todo fails", When: SetCompleted{ID: "zz", Completed: true}, Err: ErrNotFound},
		// Toggle all
		{Name: "marking all completed", Given: []Event{added("a", "x"), added("b", "y"), Completed{ID: "a"}}, When: SetAllCompleted{Completed: true}, Then: []Event{AllMarked{Completed: true}}},
		{Name: "marking all completed when they are does nothing", Given: []Event{added("a", "x"), Completed{ID: "a"}}, When: SetAllCompleted{Completed: true}},
		{Name: "reopening all", Given: []Event{added("a", "x"), AllMarked{Completed: true}}, When: SetAllCompleted{}, Then: []Event{AllMarked{}}},
		{Name: "marking an empty list does nothing", When: SetAllCompleted{Completed: true}},
		// Renaming
		{Name: "renaming a todo", Given: []Event{added("a", "milk")}, When: Rename{ID: "a", Text: " oat milk "}, Then: []Event{Renamed{ID: "a", Text: "oat milk"}}},
		{Name: "renaming to the same text does nothing", Given: []Event{added("a", "milk")}, When: Rename{ID: "a", Text: "milk "}},
		{Name: "renaming to nothing deletes", Given: []Event{added("a", "milk")}, When: Rename{ID: "a", Text: "  "}, Then: []Event{Deleted{ID: "a"}}},
		{Name: "renaming to 501 characters is refused", Given: []Event{added("a", "milk")}, When: Rename{ID: "a", Text: long + "x"}, Err: ErrTextTooLong},
		{Name: "renaming a missing todo fails", When: Rename{ID: "a", Text: "x"}, Err: ErrNotFound},
		// Deleting
		{Name: "deleting a todo", Given: []Event{added("a", "milk")}, When: Delete{ID: "a"}, Then: []Event{Deleted{ID: "a"}}},
		{Name: "deleting a deleted todo fails", Given: []Event{added("a", "milk"), Deleted{ID: "a"}}, When: Delete{ID: "a"}, Err: ErrNotFound},
		// Clearing
		{Name: "clearing completed todos", Given: []Event{added("a", "x"), added("b", "y"), Completed{ID: "b"}}, When: ClearCompleted{}, Then: []Event{CompletedCleared{}}},
		{Name: "clearing with nothing completed does nothing", Given: []Event{added("a", "x")}, When: ClearCompleted{}},
	})
}

func TestEvolve(t *testing.T) {
	t.Parallel()
	d := Decider()
	before := d.Fold(Added{ID: "a", Text: "milk"}, Added{ID: "b", Text: "eggs"}, Added{ID: "c", Text: "tea"})
	steps := []struct {
		event Event
		want  []Item
	}{
		{Completed{ID: "b"}, []Item{{"a", "milk", false}, {"b", "eggs", true}, {"c", "tea", false}}},
		{Renamed{ID: "c", Text: "green tea"}, []Item{{"a", "milk", false}, {"b", "eggs", true}, {"c", "green tea", false}}},
		{AllMarked{Completed: true}, []Item{{"a", "milk", true}, {"b", "eggs", true}, {"c", "green tea", true}}},
		{Reopened{ID: "a"}, []Item{{"a", "milk", false}, {"b", "eggs", true}, {"c", "green tea", true}}},
		{CompletedCleared{}, []Item{{"a", "milk", false}}},
		{Deleted{ID: "a"}, []Item{}},
	}
	state := before
	for _, s := range steps {
		state = d.Evolve(state, s.event)
		if !slices.Equal(state.Items, s.want) {
			t.Fatalf("after %#v: %+v, want %+v", s.event, state.Items, s.want)
		}
	}
	if before.Items[1].Completed || before.Items[2].Text != "tea" {
		t.Errorf("Evolve changed an earlier state: %+v", before.Items)
	}
}

// lt is n times "<": n characters, 6n bytes as stored (\u003c).
func lt(n int) string { return strings.Repeat("<", n) }

// lessThans are n todos of 500 "<".
func lessThans(n int) []Event {
	events := make([]Event, n)
	for i := range events {
		events[i] = Added{ID: fmt.Sprintf("i%04d", i), Text: lt(MaxTextLength)}
	}
	return events
}

func TestDecideBoundsTheBytesStored(t *testing.T) {
	// 86 such todos take 261,613 bytes as stored: 531 short of MaxListBytes.
	nearlyFull := lessThans(86)
	withX := append(lessThans(86), Added{ID: "x", Text: "x"})
	past := lessThans(90) // stored before the bound existed
	a := func(n int) string { return strings.Repeat("a", n) }
	estest.Run(t, Decider(), []tc{
		{Name: "an add that would take the list past 256 KiB as stored is refused", Given: nearlyFull, When: Add{ID: "n", Text: lt(500)}, Err: ErrListTooLarge},
		{Name: "escaping counts: 100 < are 600 bytes and do not fit", Given: nearlyFull, When: Add{ID: "n", Text: lt(100)}, Err: ErrListTooLarge},
		{Name: "escaping counts: 100 a are 100 bytes and fit", Given: nearlyFull, When: Add{ID: "n", Text: a(100)}, Then: []Event{Added{ID: "n", Text: a(100)}}},
		{Name: "a rename that would take the list past the bound is refused", Given: withX, When: Rename{ID: "x", Text: lt(200)}, Err: ErrListTooLarge},
		{Name: "a rename that stays within the bound is accepted", Given: withX, When: Rename{ID: "x", Text: a(200)}, Then: []Event{Renamed{ID: "x", Text: a(200)}}},
		{Name: "a rename that shrinks a list already past the bound is accepted", Given: past, When: Rename{ID: "i0000", Text: "short"}, Then: []Event{Renamed{ID: "i0000", Text: "short"}}},
		{Name: "a rename that grows a list already past the bound is refused", Given: append(past, Added{ID: "x", Text: "x"}), When: Rename{ID: "x", Text: "xx"}, Err: ErrListTooLarge},
		{Name: "an add to a list already past the bound is refused", Given: past, When: Add{ID: "n", Text: "a"}, Err: ErrListTooLarge},
		{Name: "deleting from a list past the bound is accepted", Given: past, When: Delete{ID: "i0001"}, Then: []Event{Deleted{ID: "i0001"}}},
		{Name: "completing in a list at the bound is accepted", Given: nearlyFull, When: SetAllCompleted{Completed: true}, Then: []Event{AllMarked{Completed: true}}},
	})
}

// TestTheFullestListFitsItsReadModel adds the costliest todos there are
// (500 characters that each take six bytes as stored) until the domain
// refuses, and measures the read model as the projection stores it: within
// MaxListBytes plus the record around it, far from NATS's 1 MB.
func TestTheFullestListFitsItsReadModel(t *testing.T) {
	t.Parallel()
	// U+2028 is also a space: the x's keep it from being trimmed away.
	for _, text := range []string{lt(MaxTextLength), strings.Repeat("\x01", MaxTextLength), "x" + strings.Repeat("\u2028", MaxTextLength-2) + "x", strings.Repeat("😀", MaxTextLength)} {
		d, l := Decider(), List{}
		var err error
		for i := 0; err == nil && i < MaxItems; i++ {
			var events []Event
			events, err = d.Decide(l, Add{ID: fmt.Sprintf("item-%d", i), Text: text})
			for _, e := range events {
				l = d.Evolve(l, e)
			}
		}
		if !errors.Is(err, ErrListTooLarge) {
			t.Fatalf("%.8q…: adding until refused ended with %v after %d items, want ErrListTooLarge", text, err, len(l.Items))
		}
		record, _ := json.Marshal(struct {
			Seq   uint64   `json:"seq"`
			Value ListView `json:"value"`
		}{math.MaxUint64, toView(d.Evolve(l, AllMarked{}))})
		t.Logf("%.8q…: %d todos, %d bytes as stored", text, len(l.Items), len(record))
		if len(record) > MaxListBytes+64 {
			t.Errorf("%.8q…: %d todos take %d bytes as stored, want at most %d", text, len(l.Items), len(record), MaxListBytes+64)
		}
	}
}

// TestMaxStoredSizeIsAnUpperBound checks the shortcut that spares small
// lists the encoding: for the costliest bytes there are, and for the
// cheapest, it never says less than the encoding measures.
func TestMaxStoredSizeIsAnUpperBound(t *testing.T) {
	texts := []string{"", "a", lt(MaxTextLength), "\xff\xfe", "\x01\"\\", "\u2028\u2029", "😀", "&<>'"}
	var l List
	for i, text := range texts {
		for _, completed := range []bool{false, true} {
			l.Items = append(l.Items, Item{ID: fmt.Sprintf("id-%d-%t", i, completed), Text: text, Completed: completed})
			if bound, size := maxStoredSize(l), storedSize(l); bound < size {
				t.Errorf("after %q (completed %t): maxStoredSize %d < storedSize %d", text, completed, bound, size)
			}
		}
	}
	if bound, size := maxStoredSize(List{}), storedSize(List{}); bound < size {
		t.Errorf("empty list: maxStoredSize %d < storedSize %d", bound, size)
	}
}
