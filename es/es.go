// Package es is Ironstar's event-sourcing kernel: the event envelope, the
// Decider shape, the event-type registry with upcasters, the Store contract
// and the one command helper. It is pure Go: no NATS, no HTTP, no clock.
//
// The flow every feature follows:
//
//	load the aggregate's events → fold them with Evolve → Decide on the command
//	→ append the new events, expecting the version that was loaded
//
// A concurrent writer makes the append fail with ErrConcurrency; Handle then
// reloads and decides again, a bounded number of times. A Handler remembers
// the aggregates it used recently and skips the load for them: the append's
// expected version is what proves the remembered state current.
package es

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Sentinel errors. Stores translate their own failures into these, so that
// callers never see a storage-specific error code.
var (
	// ErrConcurrency means the aggregate moved on since it was loaded.
	ErrConcurrency = errors.New("es: concurrency conflict")
	// ErrUnknownEventType means a stored or appended event's type (or
	// schema version) is not in the registry.
	ErrUnknownEventType = errors.New("es: unknown event type")
	// ErrInvalidStreamID means an aggregate name or ID is not a safe token.
	ErrInvalidStreamID = errors.New("es: invalid stream id")
	// ErrMissingCommandID means a command came without the ID that makes
	// retries and double clicks harmless.
	ErrMissingCommandID = errors.New("es: missing command id")
	// ErrUnavailable means the store did not answer in time (a node is
	// down, a leader is being elected). A command that failed this way may
	// or may not have been stored: retry it with the same command ID.
	ErrUnavailable = errors.New("es: store unavailable")
	// ErrStoreFull means the store refused new events because it reached
	// its size cap (or the server its disk budget): nothing was stored, and
	// nothing old is ever dropped to make room; an operator must act.
	ErrStoreFull = errors.New("es: store full")
	// ErrUndecodable means an aggregate's own history holds an event this
	// build cannot read: a type or version not (or no longer) registered,
	// or data that does not decode; stores return it for a message without
	// the envelope they write (headers missing). No command on the aggregate can be
	// decided until the code reads it (a rolling deploy finishing, an
	// upcaster), since skipping the event would decide on a wrong state.
	// It wraps the decoding error (often ErrUnknownEventType).
	ErrUndecodable = errors.New("es: a stored event does not decode")
)

// StreamID names one aggregate instance: events of Aggregate "todo" with ID
// "list-1" live on the subject events.todo.list-1.
type StreamID struct {
	Aggregate string
	ID        string
}

var streamToken = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// Validate reports ErrInvalidStreamID unless both parts are 1–128 of
// [A-Za-z0-9_-], which keeps them safe as subject tokens and keys.
func (s StreamID) Validate() error {
	if !streamToken.MatchString(s.Aggregate) || !streamToken.MatchString(s.ID) {
		return fmt.Errorf("%w: %q/%q", ErrInvalidStreamID, s.Aggregate, s.ID)
	}
	return nil
}

func (s StreamID) String() string { return s.Aggregate + "/" + s.ID }

// Metadata travels with every event but is not part of the domain payload.
type Metadata struct {
	// CommandID identifies the command that produced the event; a command
	// whose ID is already stored on the aggregate is not stored again.
	CommandID string
	// CorrelationID ties together everything one user action caused.
	CorrelationID string
	// Session is the browser session that issued the command, if any.
	Session string
	// OccurredAt is when the command was accepted (the caller's clock).
	OccurredAt time.Time
}

// Envelope is an event as stored: type, schema version, JSON payload and
// metadata, plus its place in the store once appended.
type Envelope struct {
	// ID is unique per event; stores use it to drop duplicate appends.
	ID string
	// Stream is the aggregate the event belongs to.
	Stream StreamID
	// Type is the registered event type name, e.g. "todo.added".
	Type string
	// Version is the schema version of Data.
	Version int
	// Data is the event payload as JSON.
	Data json.RawMessage
	// Meta is the event's metadata.
	Meta Metadata
	// Sequence is the store-wide position (the JetStream stream sequence),
	// zero until stored. It orders all events and is the SSE event id.
	Sequence uint64
}
