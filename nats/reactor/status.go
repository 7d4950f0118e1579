// Package reactor runs side effects in reaction to events: sending a mail,
// calling a webhook, appending an event to another aggregate. See
// docs/17-reactors.md for the pattern.
package reactor

import (
	"context"
	"time"
)

// Status is where a reactor stands, for the operator's status view.
type Status struct {
	Name string
	// Position is the stream sequence up to which every event of its
	// subjects has been handled (or parked), by any instance.
	Position uint64
	// Lag is how many events of its subjects are not handled yet.
	Lag uint64
	// Handled is how many events this instance handled since it started.
	Handled uint64
	// Retrying is how many events wait for another attempt after a failure.
	Retrying int
	// Parked are the events whose effect failed too often: set aside, not
	// retried, until an operator acts.
	Parked []Parked
}

// Parked is an event a reactor gave up on.
// It is stored as JSON in the reactor's parked bucket, keyed by Seq.
type Parked struct {
	Seq      uint64    `json:"seq"`
	Type     string    `json:"type"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error"`
	At       time.Time `json:"at"`
}

// Reporter reports where a reactor stands, and runs a parked event's
// effect again once an operator has fixed its cause (see Runner.Redrive).
type Reporter interface {
	Name() string
	Status(ctx context.Context) (Status, error)
	Redrive(ctx context.Context, seq uint64) error
}
