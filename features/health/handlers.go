package health

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// readyTimeout bounds one readiness check, well under a probe's own timeout.
const readyTimeout = 2 * time.Second

type handlers struct {
	logger   *slog.Logger
	checks   []Check
	draining context.Context
}

// status is the JSON body of both probes: the overall status and, for
// readiness, "up", "down" or "degraded" per check.
type status struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

func (h handlers) live(w http.ResponseWriter, _ *http.Request) {
	writeStatus(w, http.StatusOK, status{Status: "ok"})
}

func (h handlers) readiness(w http.ResponseWriter, r *http.Request) {
	if h.draining != nil && h.draining.Err() != nil {
		// No Retry-After: this instance will not be ready again.
		writeStatus(w, http.StatusServiceUnavailable, status{Status: "stopping"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	results := make([]error, len(h.checks))
	var wg sync.WaitGroup
	for i, c := range h.checks {
		wg.Go(func() { results[i] = c.Check(ctx) })
	}
	wg.Wait()
	body := status{Status: "ok", Checks: make(map[string]string, len(h.checks))}
	code := http.StatusOK
	for i, c := range h.checks {
		switch err := results[i]; {
		case err == nil:
			body.Checks[c.Name] = "up"
		case c.Degrades:
			// Debug: probes come every few seconds, and what degrades says
			// so itself (a projection logs each parked event once).
			h.logger.DebugContext(r.Context(), "degraded", "check", c.Name, "err", err)
			body.Checks[c.Name] = "degraded"
			if code == http.StatusOK {
				body.Status = "degraded"
			}
		default:
			// The cause goes to the log; the probe gets a short, fixed answer.
			h.logger.WarnContext(r.Context(), "not ready", "check", c.Name, "err", err)
			body.Checks[c.Name] = "down"
			body.Status = "unavailable"
			code = http.StatusServiceUnavailable
		}
	}
	if code != http.StatusOK {
		w.Header().Set("Retry-After", "1")
	}
	writeStatus(w, code, body)
}

func writeStatus(w http.ResponseWriter, code int, body status) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
}
