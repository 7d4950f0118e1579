// Package command is the HTTP side every feature's commands share: reading
// Datastar's signals, naming the command, and turning its errors into one
// kind of answer (and a page read the store could not serve into the same
// kind of 503).
package command

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"ironstar/es"
	"ironstar/features/common/components"
	"ironstar/logging"
	"ironstar/session"
)

// MaxBody bounds a command's request body.
const MaxBody = 16 << 10

// Errors of DecodeSignals, and of a command missing a signal it needs.
var (
	ErrTooLarge      = errors.New("request body too large")
	ErrMalformed     = errors.New("malformed signals")
	ErrMissingSignal = errors.New("missing signal")
)

// Require returns the value of a signal a command cannot do without, or
// ErrMissingSignal naming it when the request lacked it (absent, or null).
// Signals a command needs are decoded into pointers for this: an empty body,
// `null` or `{}` must be refused, not read as empty strings (a rename to ""
// deletes a todo).
func Require[T any](name string, v *T) (T, error) {
	if v == nil {
		var zero T
		return zero, Missing(name)
	}
	return *v, nil
}

// Missing is the ErrMissingSignal of the signal name.
func Missing(name string) error { return fmt.Errorf("%w %q", ErrMissingSignal, name) }

// ReadSignals reads the signals Datastar sends with r: the datastar query
// parameter of a GET or DELETE, the JSON body of any other method (the
// server's body limit applies). None gives the zero value.
func ReadSignals[T any](r *http.Request) (T, error) {
	if r.Method == http.MethodGet || r.Method == http.MethodDelete {
		return DecodeSignals[T](strings.NewReader(r.URL.Query().Get("datastar")))
	}
	return DecodeSignals[T](r.Body)
}

// DecodeSignals decodes JSON signals from body, at most MaxBody bytes of
// them. An empty body gives the zero value.
func DecodeSignals[T any](body io.Reader) (T, error) {
	var s T
	data, err := io.ReadAll(io.LimitReader(body, MaxBody+1))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return s, ErrTooLarge
		}
		return s, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(data) > MaxBody {
		return s, ErrTooLarge
	}
	if strings.TrimSpace(string(data)) == "" {
		return s, nil
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return s, nil
}

// DatastarOnly refuses requests that do not come from Datastar: commands
// answer only the pages' own actions.
func DatastarOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Datastar-Request") != "true" {
			http.Error(w, "this endpoint answers Datastar requests only", http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Metadata names a command request: its Idempotency-Key (the pages send a
// fresh one per action, and a retried request repeats it) or a new random
// ID, the request ID as correlation, the session's public ID, and now.
func Metadata(r *http.Request) es.Metadata {
	sess, _ := session.FromContext(r.Context())
	id := r.Header.Get("Idempotency-Key")
	if !validKey(id) {
		id = rand.Text()
	}
	return es.Metadata{
		CommandID:     id,
		CorrelationID: logging.RequestID(r.Context()),
		Session:       sess.PublicID, // a public handle: never the cookie
		OccurredAt:    time.Now().UTC(),
	}
}

func validKey(key string) bool {
	if key == "" || len(key) > 64 {
		return false
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Guarded is the chain every command route of a feature sits behind, in
// order: Datastar requests only, a place among the commands in flight
// (before the session lookup, the first NATS read: admission may be nil,
// no bound), a valid session (never a fresh one), and the session's and
// client's write quota (quota may be nil: no limit). Every refusal is
// answered as Fail answers, with the feature's alert alertID, and nothing
// runs.
func Guarded(sessions *session.Store, admission *Admission, quota *Quota, logger *slog.Logger, alertID string) []func(http.Handler) http.Handler {
	return []func(http.Handler) http.Handler{
		DatastarOnly,
		admission.Admit(alertID),
		sessions.Guard(refusal(logger, alertID)),
		quota.Limit(alertID),
	}
}

// refusal answers a request session.Store.Guard does not let through, as
// Fail answers any command: the feature's alert, nothing run. 403 for a
// command without a valid session, 503 + Retry-After while the sessions
// bucket is not answering (Guard has logged it).
func refusal(logger *slog.Logger, alertID string) session.Refusal {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		Fail(w, r, logger, alertID, err, nil)
	}
}

// Problem is how a feature wants one of its errors answered.
type Problem struct {
	Status  int
	Message string
}

// Fail is the one place where a command's error becomes an HTTP answer.
// The body is the feature's alert fragment (id alertID): Datastar morphs a
// non-2xx HTML answer into the page. known maps the feature's own errors;
// infrastructure errors are logged and shown as a generic message. known
// may be nil when the error can only be a shared one.
func Fail(w http.ResponseWriter, r *http.Request, logger *slog.Logger, alertID string, err error, known func(error) (Problem, bool)) {
	p := Problem{http.StatusInternalServerError, "Something went wrong; please try again."}
	var overQuota *OverQuotaError
	if k, ok := knownBy(known, err); ok {
		p = k
	} else {
		switch {
		case errors.Is(err, ErrTooLarge):
			p = Problem{http.StatusRequestEntityTooLarge, "That request is too large."}
		case errors.Is(err, ErrMalformed):
			p = Problem{http.StatusBadRequest, "The request's signals are malformed: expected a JSON object."}
		case errors.Is(err, session.ErrNoSession):
			p = Problem{http.StatusForbidden, "This page's session has ended (or the browser keeps no cookies): reload the page to go on."}
		case errors.Is(err, ErrMissingSignal):
			p = Problem{http.StatusBadRequest, "The request lacks a signal this action needs; please reload the page."}
		case errors.Is(err, es.ErrInvalidStreamID):
			p = Problem{http.StatusBadRequest, "That is not a valid id."}
		case errors.Is(err, es.ErrConcurrency):
			p = Problem{http.StatusConflict, "This is busy; please try again."}
		case errors.As(err, &overQuota):
			w.Header().Set("Retry-After", overQuota.retryAfter())
			p = Problem{http.StatusTooManyRequests, "Too many changes in a short time: nothing was saved. Please wait a moment and try again."}
		case errors.Is(err, es.ErrStoreFull):
			// Not transient: the cap must be raised. WatchCapacity logs it.
			logger.DebugContext(r.Context(), "command", "path", r.URL.Path, "err", err)
			p = Problem{http.StatusInsufficientStorage, "The store is full, so nothing was saved. The site's operator has been warned."}
		case errors.Is(err, ErrBusy):
			// Overload, not a fault: the request log shows each one.
			w.Header().Set("Retry-After", "1")
			p = Problem{http.StatusServiceUnavailable, "The server is busy, so nothing was saved; please try again in a moment."}
		case errors.Is(err, session.ErrUnavailable):
			w.Header().Set("Retry-After", "1")
			p = Problem{http.StatusServiceUnavailable, "Sessions are not answering, so nothing was saved; please try again in a moment."}
		case errors.Is(err, es.ErrUndecodable):
			// es.Handler logged the aggregate, sequence and cause at error.
			// 503, not 500: the server recognised what it cannot do (often
			// for the moment: a rolling deploy's older instance meeting a
			// newer event); not 4xx: the request is fine. No Retry-After,
			// as with a full store: no delay can be promised.
			logger.DebugContext(r.Context(), "command", "path", r.URL.Path, "err", err)
			p = Problem{http.StatusServiceUnavailable, "This cannot be changed right now: its history holds a change this version of the site cannot read. Nothing was saved; the error is logged for the site's operator."}
		case errors.Is(err, es.ErrUnavailable):
			// A NATS node is down or a leader is being elected: seconds.
			logger.WarnContext(r.Context(), "command", "path", r.URL.Path, "err", err)
			w.Header().Set("Retry-After", "1")
			p = Problem{http.StatusServiceUnavailable, "The event store is not answering; please try again in a moment."}
		case errors.Is(err, context.Canceled):
			return // the client went away
		default:
			logger.ErrorContext(r.Context(), "command", "path", r.URL.Path, "err", err)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(p.Status)
	components.Alert(alertID, p.Message).Render(r.Context(), w)
}

// Unreadable answers a page whose data could not be read (a read model or
// the event store not answering): 503 with Retry-After, as a command the
// store did not take is answered, and the error logged. what names the
// data in the answer, e.g. "the list".
func Unreadable(w http.ResponseWriter, r *http.Request, logger *slog.Logger, what string, err error) {
	logger.ErrorContext(r.Context(), "read "+what, "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", "1")
	http.Error(w, what+" cannot be read right now, try again shortly", http.StatusServiceUnavailable)
}

// knownBy asks a feature's known, if any, how to answer err.
func knownBy(known func(error) (Problem, bool), err error) (Problem, bool) {
	if known == nil {
		return Problem{}, false
	}
	return known(err)
}
