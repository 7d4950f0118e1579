package todo

import (
	"fmt"

	"github.com/a-h/templ"

	"ironstar/features/todo/components"
)

// historyView draws a list as it was after one of its events, for the
// operator's time-travel page (features/history): the list after it, the
// todos it changed marked, and those it removed shown from the list
// before it.
func historyView(before, after List, changed Event) templ.Component {
	return components.History(historyViewModel(before, after, changed))
}

func historyViewModel(before, after List, changed Event) components.HistoryVM {
	rows := after.Items
	removal := false
	if _, ok := changed.(Deleted); ok {
		rows, removal = before.Items, true
	}
	if _, ok := changed.(CompletedCleared); ok {
		rows, removal = before.Items, true
	}
	vm := components.HistoryVM{Change: describe(before, changed)}
	for _, it := range rows {
		row := components.HistoryItemVM{ItemVM: components.ItemVM{ID: it.ID, Text: it.Text, Completed: it.Completed}}
		row.Removed = removal && after.index(it.ID) < 0
		row.Changed = row.Removed || changes(changed, it.ID)
		if !row.Removed && !it.Completed {
			vm.Left++
		}
		vm.Items = append(vm.Items, row)
	}
	return vm
}

// changes reports whether e changed the todo id (not counting removals).
func changes(e Event, id string) bool {
	switch e := e.(type) {
	case Added:
		return e.ID == id
	case Completed:
		return e.ID == id
	case Reopened:
		return e.ID == id
	case Renamed:
		return e.ID == id
	case AllMarked:
		return true
	}
	return false
}

// describe says in words what e did to the list before it.
func describe(before List, e Event) string {
	text := func(id string) string {
		if i := before.index(id); i >= 0 {
			return before.Items[i].Text
		}
		return id
	}
	switch e := e.(type) {
	case Added:
		return fmt.Sprintf("Added %q.", e.Text)
	case Completed:
		return fmt.Sprintf("Completed %q.", text(e.ID))
	case Reopened:
		return fmt.Sprintf("Reopened %q.", text(e.ID))
	case Renamed:
		return fmt.Sprintf("Renamed %q to %q.", text(e.ID), e.Text)
	case Deleted:
		return fmt.Sprintf("Deleted %q.", text(e.ID))
	case AllMarked:
		if e.Completed {
			return "Completed every todo."
		}
		return "Reopened every todo."
	case CompletedCleared:
		return "Cleared the completed todos."
	case ListCompleted:
		return "Every todo done: the list was recorded as completed."
	}
	return fmt.Sprintf("%T", e)
}
