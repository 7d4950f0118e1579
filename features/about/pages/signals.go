package pages

// Signals are the about page's signals, declared once: the page renders
// its initial values from them, the greeting reads them, and
// web/libs/signals.gen.ts declares them for TypeScript (cmd/signals).
type Signals struct {
	// Name is the name to greet.
	Name string `json:"name"`
	// GreetingBusy is true while the greeting is asked for
	// (data-indicator:greeting-busy).
	GreetingBusy bool `json:"greetingBusy"`
}
