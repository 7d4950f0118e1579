package es

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
)

// DefaultMaxAttempts bounds Handle's load → decide → append loop when two
// writers race on one aggregate.
const DefaultMaxAttempts = 8

// Handler runs commands for one kind of aggregate.
type Handler[S, C, E any] struct {
	Store    Store
	Registry *Registry
	Decider  Decider[S, C, E]
	// MaxAttempts bounds retries on ErrConcurrency; DefaultMaxAttempts if 0.
	MaxAttempts int
}

// Result is what a handled command did.
type Result[S any] struct {
	// Version is the aggregate's version after the command.
	Version uint64
	// Events are the envelopes appended (none for a duplicate or a no-op).
	Events []Envelope
	// State is the aggregate's state after the command.
	State S
	// Duplicate is true when meta.CommandID was already stored: nothing was
	// appended again.
	Duplicate bool
}

// Handle loads the aggregate, folds it, decides on cmd and appends the
// resulting events with the loaded version as the expected one. On
// ErrConcurrency it starts over, up to MaxAttempts times. A command whose
// meta.CommandID is already among the aggregate's events is acknowledged
// without storing anything, so a retried or double-clicked command is
// harmless. The errors are Decide's own (business rules), ErrConcurrency
// after the last attempt, or a storage failure.
func (h Handler[S, C, E]) Handle(ctx context.Context, stream StreamID, cmd C, meta Metadata) (Result[S], error) {
	if meta.CommandID == "" {
		return Result[S]{}, ErrMissingCommandID
	}
	if err := stream.Validate(); err != nil {
		return Result[S]{}, err
	}
	attempts := h.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	for attempt := 1; ; attempt++ {
		res, err := h.attempt(ctx, stream, cmd, meta)
		if errors.Is(err, ErrConcurrency) && attempt < attempts {
			continue
		}
		return res, err
	}
}

func (h Handler[S, C, E]) attempt(ctx context.Context, stream StreamID, cmd C, meta Metadata) (Result[S], error) {
	stored, version, err := h.Store.Load(ctx, stream)
	if err != nil {
		return Result[S]{}, fmt.Errorf("load %s: %w", stream, err)
	}
	state, duplicate, err := h.fold(stored, meta.CommandID)
	if err != nil || duplicate {
		return Result[S]{Version: version, State: state, Duplicate: duplicate}, err
	}
	events, err := h.Decider.Decide(state, cmd)
	if err != nil {
		return Result[S]{Version: version, State: state}, err
	}
	if len(events) == 0 {
		return Result[S]{Version: version, State: state}, nil
	}
	envs := make([]Envelope, len(events))
	for i, e := range events {
		name, v, data, err := h.Registry.Encode(e)
		if err != nil {
			return Result[S]{}, err
		}
		envs[i] = Envelope{
			// Derived from the command ID, so a retried append of the same
			// command is recognised by the store's duplicate detection too.
			ID:      meta.CommandID + "." + strconv.Itoa(i),
			Stream:  stream,
			Type:    name,
			Version: v,
			Data:    data,
			Meta:    meta,
		}
		state = h.Decider.Evolve(state, e)
	}
	version, err = h.Store.Append(ctx, stream, version, envs)
	if err != nil {
		return Result[S]{}, fmt.Errorf("append %s: %w", stream, err)
	}
	return Result[S]{Version: version, Events: envs, State: state}, nil
}

// fold rebuilds the state from stored events and reports whether commandID
// is among them.
func (h Handler[S, C, E]) fold(stored []Envelope, commandID string) (S, bool, error) {
	state := h.Decider.Initial
	duplicate := false
	for _, env := range stored {
		if env.Meta.CommandID == commandID {
			duplicate = true
		}
		e, err := DecodeAs[E](h.Registry, env)
		if err != nil {
			return state, false, err
		}
		state = h.Decider.Evolve(state, e)
	}
	return state, duplicate, nil
}

// DecodeAs decodes env and asserts that the event is an E.
func DecodeAs[E any](r *Registry, env Envelope) (E, error) {
	var zero E
	decoded, err := r.Decode(env)
	if err != nil {
		return zero, err
	}
	e, ok := decoded.(E)
	if !ok {
		return zero, fmt.Errorf("%w: %q decodes to %T, which is not a %v", ErrUnknownEventType, env.Type, decoded, reflect.TypeFor[E]())
	}
	return e, nil
}
