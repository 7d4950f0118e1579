package pages

import (
	"context"
	"strings"
	"testing"

	"ironstar/features/common/layouts"
	"ironstar/features/todo/components"
)

func TestThePageSaysWhenTheListsAreCatchingUp(t *testing.T) {
	t.Parallel()
	for _, catchingUp := range []bool{false, true} {
		var b strings.Builder
		if err := Todo(layouts.Page{Title: "Todos", Path: "/"}, components.ListVM{}, catchingUp).Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), `id="todo-catching-up"`); got != catchingUp {
			t.Errorf("catching up %v: note shown %v\n%s", catchingUp, got, b.String())
		}
	}
}

func TestThePageSaysAllDoneOnceTheListsCompletionIsRecorded(t *testing.T) {
	t.Parallel()
	for _, allDone := range []bool{false, true} {
		vm := components.ListVM{Total: 1, Done: 1, AllDone: allDone, Items: []components.ItemVM{{ID: "a", Text: "milk", Completed: true}}}
		var b strings.Builder
		if err := Todo(layouts.Page{Title: "Todos", Path: "/"}, vm, false).Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), `id="todo-all-done"`); got != allDone {
			t.Errorf("all done %v: note shown %v\n%s", allDone, got, b.String())
		}
	}
}
