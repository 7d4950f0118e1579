package todo

import (
	"context"
	"strings"
	"testing"
)

func TestTimeTravelDrawsTheListWithWhatTheEventChanged(t *testing.T) {
	t.Parallel()
	milk, bread := Item{ID: "m", Text: "milk"}, Item{ID: "b", Text: "bread", Completed: true}
	before := List{Items: []Item{milk, bread}}
	for _, tc := range []struct {
		name   string
		event  Event
		rows   string // each row: text, then + if changed, - if removed
		left   int
		change string
	}{
		{"an added todo is marked", Added{ID: "e", Text: "eggs"}, "milk bread eggs+", 2, `Added "eggs".`},
		{"a renamed todo is marked, with its old text said", Renamed{ID: "m", Text: "oat milk"}, "oat milk+ bread", 1, `Renamed "milk" to "oat milk".`},
		{"a deleted todo is shown from the list before", Deleted{ID: "m"}, "milk- bread", 0, `Deleted "milk".`},
		{"cleared todos are shown from the list before", CompletedCleared{}, "milk bread-", 1, "Cleared the completed todos."},
		{"marking all marks every todo", AllMarked{Completed: true}, "milk+ bread+", 0, "Completed every todo."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vm := historyViewModel(before, Evolve(before, tc.event), tc.event)
			var rows []string
			for _, it := range vm.Items {
				row := it.Text
				if it.Removed {
					row += "-"
				} else if it.Changed {
					row += "+"
				}
				rows = append(rows, row)
			}
			if got := strings.Join(rows, " "); got != tc.rows || vm.Left != tc.left || vm.Change != tc.change {
				t.Errorf("rows %q, %d left, %q; want %q, %d left, %q", got, vm.Left, vm.Change, tc.rows, tc.left, tc.change)
			}
		})
	}

	var html strings.Builder
	if err := historyView(before, Evolve(before, Completed{ID: "m"}), Completed{ID: "m"}).Render(context.Background(), &html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), `<li id="todo-history-m" class="completed changed">`) || strings.Contains(html.String(), "data-on:") {
		t.Errorf("the completed todo is not marked, or the list has controls:\n%s", html.String())
	}
}
