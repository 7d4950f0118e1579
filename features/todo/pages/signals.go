package pages

// Signals are the todo page's signals, declared once: the page renders its
// initial values from them, the commands read them (command.ReadSignals)
// and web/libs/signals.gen.ts declares them for TypeScript (cmd/signals).
// Title and Edit are pointers so that a signal a request lacks is told
// apart from an empty one: the page always sends both, and a command
// missing the one it needs is refused (400) rather than read as "" (a
// rename to "" deletes the todo).
type Signals struct {
	// Title is the new todo's text: add needs it.
	Title *string `json:"title"`
	// Edit is the edited todo's text: rename needs it.
	Edit *string `json:"edit"`
	// Editing is the element id of the row being edited: the page's own
	// (a leading _ keeps Datastar from sending it).
	Editing string `json:"_editing"`
}

// initialSignals are the page's signals as it opens.
func initialSignals() Signals {
	title, edit := "", ""
	return Signals{Title: &title, Edit: &edit}
}
