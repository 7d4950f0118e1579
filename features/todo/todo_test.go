package todo

import (
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
