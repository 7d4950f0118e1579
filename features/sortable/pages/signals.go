package pages

// Signals are the sortable page's signals, declared once: the page renders
// its initial values from them, the stream patches $board, the reorder
// command reads $order, and web/libs/signals.gen.ts declares them for
// TypeScript, where <sortable-list> uses them (cmd/signals).
type Signals struct {
	// Board is the steps in the stored order.
	Board []Item `json:"board"`
	// Order is the step ids in the order the user dropped them: what the
	// reorder command sends. Required there: absent or null is refused,
	// where an empty list is a wrong order.
	Order []string `json:"order,omitempty"`
}

// Item is one step of the board.
type Item struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}
