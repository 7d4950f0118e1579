package es

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// Upcaster turns one schema version's payload into the next version's. It
// must be pure: it runs on every read of an old event.
type Upcaster func(old json.RawMessage) (json.RawMessage, error)

// Registry maps event types to names and schema versions, and holds the
// upcasters that bring stored payloads up to date. It is a value built at
// start-up (no globals) and only read afterwards, so it is safe to share.
type Registry struct {
	byName    map[string]registered
	byType    map[reflect.Type]string
	upcasters map[upcastKey]Upcaster
}

type registered struct {
	version int
	decode  func(json.RawMessage) (any, error)
}

type upcastKey struct {
	name    string
	version int
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byName: map[string]registered{}, byType: map[reflect.Type]string{}, upcasters: map[upcastKey]Upcaster{}}
}

// Register adds the event type E under name at its current schema version
// (1 for a new type; bump it when the payload changes shape and add an
// upcaster from the old version). A name or type registered twice is a
// programming error and panics, as http.ServeMux does with a pattern.
func Register[E any](r *Registry, name string, version int) {
	t := reflect.TypeFor[E]()
	if _, dup := r.byName[name]; dup {
		panic(fmt.Sprintf("es: event type %q registered twice", name))
	}
	if _, dup := r.byType[t]; dup {
		panic(fmt.Sprintf("es: Go type %v registered twice", t))
	}
	if version < 1 {
		panic(fmt.Sprintf("es: event type %q: version %d < 1", name, version))
	}
	r.byType[t] = name
	r.byName[name] = registered{version: version, decode: func(data json.RawMessage) (any, error) {
		var e E
		if err := json.Unmarshal(data, &e); err != nil {
			return nil, err
		}
		return e, nil
	}}
}

// Upcast registers fn to turn payloads of name at version from into
// version from+1. Reading an event runs the chain up to the current version.
func (r *Registry) Upcast(name string, from int, fn Upcaster) {
	key := upcastKey{name, from}
	if _, dup := r.upcasters[key]; dup {
		panic(fmt.Sprintf("es: upcaster %s v%d registered twice", name, from))
	}
	r.upcasters[key] = fn
}

// Encode returns the registered name, current version and JSON payload of
// the event e.
func (r *Registry) Encode(e any) (name string, version int, data json.RawMessage, err error) {
	name, ok := r.byType[reflect.TypeOf(e)]
	if !ok {
		return "", 0, nil, fmt.Errorf("%w: Go type %T", ErrUnknownEventType, e)
	}
	data, err = json.Marshal(e)
	if err != nil {
		return "", 0, nil, fmt.Errorf("encode %s: %w", name, err)
	}
	return name, r.byName[name].version, data, nil
}

// Decode returns the event stored in env as its registered Go type, first
// upcasting the payload from env.Version to the current version.
func (r *Registry) Decode(env Envelope) (any, error) {
	reg, ok := r.byName[env.Type]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownEventType, env.Type)
	}
	if env.Version > reg.version || env.Version < 1 {
		return nil, fmt.Errorf("%w: %q version %d (current is %d)", ErrUnknownEventType, env.Type, env.Version, reg.version)
	}
	data := env.Data
	for v := env.Version; v < reg.version; v++ {
		up, ok := r.upcasters[upcastKey{env.Type, v}]
		if !ok {
			return nil, fmt.Errorf("%w: no upcaster for %q from version %d", ErrUnknownEventType, env.Type, v)
		}
		var err error
		if data, err = up(data); err != nil {
			return nil, fmt.Errorf("upcast %s v%d (event %s): %w", env.Type, v, env.ID, err)
		}
	}
	e, err := reg.decode(data)
	if err != nil {
		return nil, fmt.Errorf("decode %s v%d (event %s): %w", env.Type, reg.version, env.ID, err)
	}
	return e, nil
}
