// Package icons names the Lucide icons the app uses. cmd/build copies
// exactly these from the lucide-static npm package into static/dist/icons,
// and templates inline them (components.Icon): no icon service, no font.
// To use another icon, add its Lucide name here.
package icons

// Icon names, as in lucide-static/icons/<name>.svg.
const (
	Todos    = "list-todo"
	Counter  = "hash"
	Monitor  = "activity"
	Charts   = "chart-column"
	Sortable = "arrow-up-down"
	Reverse  = "repeat-2"
	About    = "info"
	Plus     = "plus"
	Minus    = "minus"
	Grip     = "grip-vertical"
)

// All lists every icon cmd/build copies.
func All() []string {
	return []string{Todos, Counter, Monitor, Charts, Sortable, Reverse, About, Plus, Minus, Grip}
}
