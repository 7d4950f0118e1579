package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"ironstar/features/common/layouts"
	"ironstar/features/monitor/pages"
	"ironstar/sse"
)

type handlers struct {
	logger *slog.Logger
	hub    *sse.Hub[Sample, struct{}]
}

func (h handlers) page(w http.ResponseWriter, r *http.Request) {
	if err := pages.Monitor(layouts.Page{Title: "Monitor", Path: "/monitor"}).Render(r.Context(), w); err != nil {
		h.logger.DebugContext(r.Context(), "monitor: render page", "err", err)
	}
}

// updates streams the samples to one page.
func (h handlers) updates(w http.ResponseWriter, r *http.Request) {
	sse.Stream(w, r, h.logger, func(ctx context.Context) (<-chan sse.Frame, error) {
		return h.hub.Subscribe(ctx, "host", struct{}{})
	})
}

// render turns a sample into a patch of the $host signal, once for every
// open page.
func render(s Sample, _ struct{}) sse.Frame {
	data, _ := json.Marshal(pages.Signals{Host: pages.Host{
		CPU:        fmt.Sprintf("%.1f %%", s.CPUPercent),
		CPUPercent: s.CPUPercent,
		Mem:        fmt.Sprintf("%s of %s", formatBytes(s.MemUsed), formatBytes(s.MemTotal)),
		MemPercent: s.MemPercent,
		At:         s.At.UTC().Format("15:04:05"),
	}})
	return sse.PatchSignals(0, data)
}

func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
