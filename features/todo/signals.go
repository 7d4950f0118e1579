package todo

// signals are the page's signals that commands read (command.DecodeSignals
// reads them from the request body). They are pointers so that a signal
// the request lacks is told apart from an empty one: the page always sends
// both, and a command missing the one it needs is refused (400) rather than
// read as "" (a rename to "" deletes the todo).
type signals struct {
	// Title is the new todo's text: add needs it.
	Title *string `json:"title"`
	// Edit is the edited todo's text: rename needs it.
	Edit *string `json:"edit"`
}
