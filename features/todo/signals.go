package todo

// signals are the page's signals that commands read (command.DecodeSignals
// reads them from the request body).
type signals struct {
	// Title is the new todo's text.
	Title string `json:"title"`
	// Edit is the edited todo's text.
	Edit string `json:"edit"`
}
