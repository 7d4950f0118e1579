// Package dashboard is what the analytics engine publishes and the
// analytics page shows: the figures, and where they are in NATS. Plain
// types, so that the web app reads them without linking DuckDB.
package dashboard

import "time"

// Where the engine publishes: the newest Dashboard as JSON under Key in
// the KV bucket Bucket, and its lease (nats/leader) under LeaderKey in
// LeaderBucket while it runs.
const (
	Bucket       = "analytics"
	Key          = "dashboard"
	LeaderBucket = "analytics_engine"
	LeaderKey    = "leader"
)

// Dashboard is every figure the analytics page shows.
type Dashboard struct {
	// Events is the number of events stored, Seq the newest's sequence.
	Events int
	Seq    uint64
	// PerMinute counts events by minute and type over the window.
	PerMinute []TypeCount
	// TodoFlow counts todos added and completed, by minute.
	TodoFlow []Flow
	// ActiveSessions is how many sessions acted within the window.
	ActiveSessions int
	// BusiestLists are the todo lists with the most events, most first.
	BusiestLists []ListCount
	// ComputedAt is when the engine ran the queries.
	ComputedAt time.Time
}

// TypeCount is a count of one event type in one minute.
type TypeCount struct {
	Minute time.Time `json:"minute"`
	Type   string    `json:"type"`
	Count  int       `json:"count"`
}

// Flow is the todos added and completed in one minute.
type Flow struct {
	Minute    time.Time `json:"minute"`
	Added     int       `json:"added"`
	Completed int       `json:"completed"`
}

// ListCount is the number of events of one todo list.
type ListCount struct {
	// List is the list's ID (its session's public ID): the server's
	// only, never shown to another visitor (see busiestListsOption).
	List   string `json:"list"`
	Events int    `json:"events"`
}
