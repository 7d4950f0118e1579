package pages

// Signals are the reverse page's signals, declared once: the page renders
// its initial values from them and web/libs/signals.gen.ts declares them
// for TypeScript (cmd/signals).
type Signals struct {
	// Text is the input's text, which <reverse-text> shows reversed.
	Text string `json:"text"`
	// Reversed is what the component last reported: the page's own.
	Reversed string `json:"_reversed"`
}
