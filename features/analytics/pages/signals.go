package pages

// Signals are the analytics page's signals, declared once: the page
// renders its initial values from them, the stream patches $_analytics
// with them, and web/libs/signals.gen.ts declares them for TypeScript
// (cmd/signals).
type Signals struct {
	// Analytics is the dashboard: the page's own (large, and never sent
	// back to the server).
	Analytics Dashboard `json:"_analytics"`
}

// Dashboard is what the page shows: counts, and the charts' options
// (ECharts options and a Vega-Lite spec; null until there is data).
type Dashboard struct {
	// Engine is whether an analytics engine is running.
	Engine    bool `json:"engine"`
	Events    int  `json:"events"`
	Sessions  int  `json:"sessions"`
	PerMinute any  `json:"perMinute"`
	Lists     any  `json:"lists"`
	Flow      any  `json:"flow"`
}
