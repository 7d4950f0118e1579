// Package icons names the Lucide icons the app uses. cmd/build copies
// exactly these from the lucide-static npm package into static/dist/icons,
// and templates inline them (components.Icon): no icon service, no font.
// To use another icon, add one line here with its Lucide name.
package icons

// Icon names, as in lucide-static/icons/<name>.svg; each is listed by All
// as it is declared.
var (
	Todos    = use("list-todo")
	Counter  = use("hash")
	Monitor  = use("activity")
	Charts   = use("chart-column")
	Sortable = use("arrow-up-down")
	Reverse  = use("repeat-2")
	About    = use("info")
	Plus     = use("plus")
	Minus    = use("minus")
	Grip     = use("grip-vertical")
)

var all []string

// use lists name and returns it: one line declares an icon and copies it.
func use(name string) string {
	all = append(all, name)
	return name
}

// All lists every icon cmd/build copies.
func All() []string { return append([]string(nil), all...) }
