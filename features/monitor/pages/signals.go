package pages

// Signals are the monitor page's signals, declared once: the page renders
// its initial values from them, the stream patches $host with them, and
// web/libs/signals.gen.ts declares them for TypeScript (cmd/signals).
type Signals struct {
	Host Host `json:"host"`
}

// Host is one sample of the server's load, ready to show.
type Host struct {
	CPU        string  `json:"cpu"`
	CPUPercent float64 `json:"cpuPercent"`
	Mem        string  `json:"mem"`
	MemPercent float64 `json:"memPercent"`
	At         string  `json:"at"`
}

// initialSignals are the page's signals before the first sample.
func initialSignals() Signals {
	return Signals{Host: Host{CPU: "…", Mem: "…"}}
}
