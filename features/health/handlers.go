package health

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
)

// readyTimeout bounds one readiness check, well under a probe's own timeout.
const readyTimeout = 2 * time.Second

type handlers struct {
	logger *slog.Logger
	ready  func(context.Context) error
}

// status is the JSON body of both probes.
type status struct {
	Status string `json:"status"`
	NATS   string `json:"nats,omitempty"`
}

func (h handlers) live(w http.ResponseWriter, _ *http.Request) {
	writeStatus(w, http.StatusOK, status{Status: "ok"})
}

func (h handlers) readiness(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := h.ready(ctx); err != nil {
		// The cause goes to the log; the probe gets a short, fixed answer.
		h.logger.Warn("not ready", "err", err)
		writeStatus(w, http.StatusServiceUnavailable, status{Status: "unavailable", NATS: "down"})
		return
	}
	writeStatus(w, http.StatusOK, status{Status: "ok", NATS: "up"})
}

func writeStatus(w http.ResponseWriter, code int, body status) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
}
