package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"ironstar/es"
	common "ironstar/features/common/components"
	"ironstar/features/common/layouts"
	"ironstar/features/projections/pages"
	"ironstar/nats/projection"
	"ironstar/nats/reactor"
	"ironstar/sse"
)

type handlers struct {
	logger *slog.Logger
	// lifetime bounds the rebuilds the routes start: they outlive the
	// request that asked for them.
	lifetime context.Context
	cleanUp  func(context.Context) ([]projection.Leftover, error)
	sampler  *sampler
	// hub shares one sample a second among every open page.
	hub *sse.Hub[Report, struct{}]
}

// requestTimeout bounds the JetStream requests one page or status answer
// makes.
const requestTimeout = 3 * time.Second

// page is the status view, whole, as of now; its stream keeps it current.
func (h *handlers) page(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	report := h.sampler.sample(ctx)
	cancel()
	if err := pages.Page(layouts.Page{Title: "Projections", Path: r.URL.Path}, viewModel(report)).Render(r.Context(), w); err != nil {
		h.logger.DebugContext(r.Context(), "projections: render page", "err", err)
	}
}

// updates streams the whole status to one page every sampleEvery.
func (h *handlers) updates(w http.ResponseWriter, r *http.Request) {
	sse.Stream(w, r, h.logger, func(ctx context.Context) (<-chan sse.Frame, error) {
		return h.hub.Subscribe(ctx, "status", struct{}{})
	})
}

// render is one stream frame: the status section, whole.
func (h *handlers) render(report Report, _ struct{}) sse.Frame {
	frame, err := sse.Patch(0, pages.Status(viewModel(report)))
	if err != nil {
		h.logger.Error("projections: render", "err", err)
	}
	return frame
}

// status answers the command line: a Report as JSON.
func (h *handlers) status(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	writeJSON(w, http.StatusOK, h.sampler.sample(ctx))
}

// CleanupResult is what POST /projections/cleanup answers a client other
// than the page: what it deleted, and why it stopped if it did.
type CleanupResult struct {
	Removed []projection.Leftover `json:"removed"`
	Error   string                `json:"error,omitempty"`
}

// cleanup deletes the leftovers (see projection.Cleanup).
func (h *handlers) cleanup(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	removed, err := h.cleanUp(ctx)
	h.logger.Info("projections: cleaned up leftovers", "removed", len(removed), "err", err)
	if isDatastar(r) {
		message := fmt.Sprintf("Removed %d leftovers.", len(removed))
		if err != nil {
			message += " Stopped at an error: " + err.Error()
		}
		sse.NewReply(sse.MustPatch(pages.Notice(message))).Write(w)
		return
	}
	result := CleanupResult{Removed: removed}
	status := http.StatusOK
	if err != nil {
		result.Error, status = err.Error(), http.StatusServiceUnavailable
	}
	if result.Removed == nil {
		result.Removed = []projection.Leftover{}
	}
	writeJSON(w, status, result)
}

// RebuildLine is one line of the answer POST /projections/{name}/rebuild
// gives a client other than the page: its progress, a second apart, then
// the outcome (Done, with the generation now serving, or Error).
type RebuildLine struct {
	Progress   *projection.RebuildProgress `json:"progress,omitempty"`
	Done       bool                        `json:"done,omitempty"`
	Generation uint64                      `json:"generation,omitempty"`
	Error      string                      `json:"error,omitempty"`
}

// rebuild starts a rebuild of the named projection, in the background:
// it goes on if the client leaves. The page gets a notice at once and
// follows the progress in its stream; another client gets the progress
// as JSON lines until the rebuild ends.
func (h *handlers) rebuild(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	var target projection.Reporter
	for _, p := range h.sampler.projections() {
		if p.Name() == name {
			target = p
		}
	}
	if target == nil {
		h.fail(w, r, http.StatusNotFound, fmt.Sprintf("This app has no projection named %q; it has %s.", name, strings.Join(h.names(), ", ")))
		return
	}
	// A quick refusal for the usual case; the lock decides the rare race,
	// and the loser's error shows in the projection's status.
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	st, err := target.Status(ctx)
	cancel()
	if err == nil && st.Rebuild != nil {
		h.fail(w, r, http.StatusConflict, fmt.Sprintf("A rebuild of %s is under way (generation %d, by %s).", name, st.Rebuild.Generation, st.Rebuild.Owner))
		return
	}
	done := make(chan RebuildLine, 1)
	go func() {
		h.logger.Info("projections: rebuild requested", "projection", name)
		generation, err := target.Rebuild(h.lifetime)
		if err != nil {
			h.logger.Error("projections: rebuild", "projection", name, "err", err)
			done <- RebuildLine{Done: true, Error: err.Error()}
			return
		}
		done <- RebuildLine{Done: true, Generation: generation}
	}()
	if isDatastar(r) {
		sse.NewReply(sse.MustPatch(pages.Notice("Rebuilding " + name + " into a new generation; the current one serves until it is swapped in."))).Write(w)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case line := <-done:
			enc.Encode(line)
			return
		case <-r.Context().Done():
			return // the rebuild goes on
		case <-tick.C:
			ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
			st, err := target.Status(ctx)
			cancel()
			if err != nil || st.Rebuild == nil {
				continue // not begun, or ending: the outcome follows
			}
			if err := enc.Encode(RebuildLine{Progress: st.Rebuild}); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
}

// RedriveResult is what POST /projections/reactors/{name}/redrive/{seq}
// answers a client other than the page when the effect ran: the event is
// no longer parked.
type RedriveResult struct {
	Reactor string `json:"reactor"`
	Seq     uint64 `json:"seq"`
}

// redriveTimeout bounds one redrive: reading the event, its effect, and
// deleting the parked entry.
const redriveTimeout = 30 * time.Second

// redrive runs the effect of a reactor's parked event again (see
// reactor.Runner.Redrive). The page gets a notice; another client gets a
// RedriveResult. Failures answer 404 for an unknown reactor, 400 for a
// sequence that is not a number, 409 for an event not parked, 503 if
// JetStream or the effect timed out or was unavailable, and 422 if the
// effect failed again (the event stays parked).
func (h *handlers) redrive(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	var target reactor.Reporter
	var names []string
	for _, rx := range h.sampler.reactors() {
		names = append(names, rx.Name())
		if rx.Name() == name {
			target = rx
		}
	}
	if target == nil {
		slices.Sort(names)
		has := strings.Join(names, ", ")
		if has == "" {
			has = "none"
		}
		h.fail(w, r, http.StatusNotFound, fmt.Sprintf("This app has no reactor named %q; it has %s.", name, has))
		return
	}
	seq, err := strconv.ParseUint(chi.URLParam(r, "seq"), 10, 64)
	if err != nil || seq == 0 {
		h.fail(w, r, http.StatusBadRequest, fmt.Sprintf("%q is not an event's stream sequence (a positive number).", chi.URLParam(r, "seq")))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), redriveTimeout)
	defer cancel()
	err = target.Redrive(ctx, seq)
	h.logger.Info("projections: redrive requested", "reactor", name, "seq", seq, "err", err)
	switch {
	case errors.Is(err, reactor.ErrNotParked):
		h.fail(w, r, http.StatusConflict, fmt.Sprintf("Event %d is not parked by %s: it was redriven already, or never failed there.", seq, name))
		return
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, es.ErrUnavailable):
		h.fail(w, r, http.StatusServiceUnavailable, fmt.Sprintf("Event %d stays parked: %v", seq, err))
		return
	case err != nil:
		h.fail(w, r, http.StatusUnprocessableEntity, fmt.Sprintf("Event %d stays parked; its effect failed again: %v", seq, err))
		return
	}
	if isDatastar(r) {
		sse.NewReply(sse.MustPatch(pages.Notice(fmt.Sprintf("The effect of event %d ran; %s no longer has it parked.", seq, name)))).Write(w)
		return
	}
	writeJSON(w, http.StatusOK, RedriveResult{Reactor: name, Seq: seq})
}

// names are the app's projections' names.
func (h *handlers) names() []string {
	var names []string
	for _, p := range h.sampler.projections() {
		names = append(names, p.Name())
	}
	slices.Sort(names)
	return names
}

// fail is the one place a request's error becomes an answer: the page's
// alert for a Datastar request, plain text for the command line.
func (h *handlers) fail(w http.ResponseWriter, r *http.Request, status int, message string) {
	if isDatastar(r) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		common.Alert(pages.AlertID, message).Render(r.Context(), w)
		return
	}
	http.Error(w, message, status)
}

func isDatastar(r *http.Request) bool { return r.Header.Get("Datastar-Request") == "true" }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) // a client that left gets nothing
}
