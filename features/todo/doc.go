// Package todo is the TodoMVC feature: one event-sourced todo list per
// browser session. todo.go holds the pure domain (commands, events, the
// decider); the rest of the slice serves it over HTTP and SSE.
package todo
