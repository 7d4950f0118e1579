// Package tsgen writes TypeScript declarations for Go types as
// encoding/json encodes them, so that the browser's code and the server's
// structs cannot drift apart: a renamed field breaks the TypeScript that
// reads it (tsc runs in the tests). It covers what signals hold: structs
// (json tags, omitempty, "-"), strings, booleans, numbers, slices, arrays,
// maps with string keys, pointers (nullable), time.Time (a string) and
// anything else as unknown. Small on purpose: tygo, the maintained
// generator, is not served by this machine's module proxy.
package tsgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Type is one Go type to declare, under a TypeScript name.
type Type struct {
	Name  string
	Value any // a value of the type, e.g. pages.Signals{}
}

// Generate returns a module that exports an interface per struct type in
// types, and per struct type they use (named after the Go type, prefixed
// with the name of the type that first uses it, less a "Signals" suffix:
// SortableSignals uses SortableItem).
func Generate(header string, types ...Type) ([]byte, error) {
	g := &generator{names: map[reflect.Type]string{}}
	for _, t := range types {
		rt := reflect.TypeOf(t.Value)
		if rt.Kind() != reflect.Struct {
			return nil, fmt.Errorf("tsgen: %s is a %s, not a struct", t.Name, rt.Kind())
		}
		g.names[rt] = t.Name
		g.queue = append(g.queue, rt)
	}
	var out bytes.Buffer
	out.WriteString(header)
	for len(g.queue) > 0 {
		rt := g.queue[0]
		g.queue = g.queue[1:]
		if slices.Contains(g.done, rt) {
			continue
		}
		g.done = append(g.done, rt)
		fmt.Fprintf(&out, "\nexport interface %s {\n", g.names[rt])
		for _, f := range fields(rt) {
			fmt.Fprintf(&out, "  %s%s: %s;\n", quoteIfNeeded(f.name), map[bool]string{true: "?", false: ""}[f.optional], g.ts(f.typ, g.names[rt]))
		}
		out.WriteString("}\n")
	}
	return out.Bytes(), nil
}

type generator struct {
	names map[reflect.Type]string
	queue []reflect.Type
	done  []reflect.Type
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// ts is the TypeScript type of t; user names a struct type by first use.
func (g *generator) ts(t reflect.Type, user string) string {
	switch {
	case t == timeType:
		return "string"
	case t == rawType:
		return "unknown"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.ts(t.Elem(), user) + " | null"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		elem := g.ts(t.Elem(), user)
		if strings.Contains(elem, " ") {
			elem = "(" + elem + ")"
		}
		return elem + "[] | null"
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return "unknown"
		}
		return "Record<string, " + g.ts(t.Elem(), user) + "> | null"
	case reflect.Struct:
		name, ok := g.names[t]
		if !ok {
			name = strings.TrimSuffix(user, "Signals") + t.Name()
			g.names[t] = name
			g.queue = append(g.queue, t)
		}
		return name
	}
	return "unknown"
}

type field struct {
	name     string
	typ      reflect.Type
	optional bool
}

// fields are t's fields as encoding/json writes them (embedded structs'
// promoted, unexported and "-" left out).
func fields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, fields(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, field{name: name, typ: f.Type, optional: strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")})
	}
	return out
}

func quoteIfNeeded(name string) string {
	for i, r := range name {
		if !(r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return fmt.Sprintf("%q", name)
		}
	}
	return name
}
