package eventlog

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"

	"ironstar/es"
	"ironstar/nats/eventstore"
)

// Filter picks the events the log shows: of one aggregate type, of one
// aggregate, of one event type, or any mix; the zero Filter picks all. The
// aggregate parts narrow the subject the store reads (so JetStream skips
// what does not match); the event type is checked here, on each event read.
type Filter struct {
	Aggregate string // aggregate type, e.g. "todo"
	ID        string // aggregate ID; only with Aggregate
	Type      string // event type, e.g. "todo.added"
}

// badRequest is a filter or position a request cannot use: a sentence
// that says what to fix, shown to the operator as it is (a 400).
type badRequest string

func (e badRequest) Error() string { return string(e) }

// eventType is what an event type may look like: the registry's names
// ("todo.added") and nothing that could confuse a reader of the query.
var eventType = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// parseFilter reads a Filter from the query parameters aggregate, id and
// type. Aggregate type and ID must be what es.StreamID allows (so they are
// safe as subject tokens: no "*", ">" or "." can widen the subject).
func parseFilter(q url.Values) (Filter, error) {
	f := Filter{Aggregate: q.Get("aggregate"), ID: q.Get("id"), Type: q.Get("type")}
	if f.ID != "" && f.Aggregate == "" {
		return Filter{}, badRequest("An aggregate ID needs its aggregate type.")
	}
	if f.Aggregate != "" {
		probe := es.StreamID{Aggregate: f.Aggregate, ID: f.ID}
		if f.ID == "" {
			probe.ID = "any"
		}
		if probe.Validate() != nil {
			return Filter{}, badRequest("An aggregate type or ID is 1 to 128 letters, digits, '-' or '_'.")
		}
	}
	if f.Type != "" && !eventType.MatchString(f.Type) {
		return Filter{}, badRequest("An event type is 1 to 128 letters, digits, '.', '-' or '_'.")
	}
	return f, nil
}

// parseSequence reads the sequence in query parameter name; 0 when absent.
func parseSequence(q url.Values, name string) (uint64, error) {
	text := q.Get(name)
	if text == "" {
		return 0, nil
	}
	return sequence(name, text)
}

// sequence reads text as a stream sequence named name: below the largest
// uint64, so that the sequence after it is one too.
func sequence(name, text string) (uint64, error) {
	n, err := strconv.ParseUint(text, 10, 64)
	if err != nil || n == math.MaxUint64 {
		return 0, badRequest(fmt.Sprintf("%s is a sequence number, not %q.", name, text))
	}
	return n, nil
}

// Subject is the subject filter the store reads with.
func (f Filter) Subject() string {
	switch {
	case f.ID != "":
		return eventstore.Subject(es.StreamID{Aggregate: f.Aggregate, ID: f.ID})
	case f.Aggregate != "":
		return eventstore.SubjectPrefix + "." + f.Aggregate + ".>"
	}
	return eventstore.SubjectPrefix + ".>"
}

// Matches reports whether e passes the filter. The store's subject filter
// has checked the aggregate already; checking it again costs nothing and
// keeps Matches true to its name.
func (f Filter) Matches(e es.Envelope) bool {
	return (f.Aggregate == "" || e.Stream.Aggregate == f.Aggregate) &&
		(f.ID == "" || e.Stream.ID == f.ID) &&
		(f.Type == "" || e.Type == f.Type)
}

// Query is the filter as query parameters, with extra ones added: what
// the page's stream and paging URLs carry, so a reload keeps the filter.
func (f Filter) Query(extra ...string) string {
	q := url.Values{}
	for name, value := range map[string]string{"aggregate": f.Aggregate, "id": f.ID, "type": f.Type} {
		if value != "" {
			q.Set(name, value)
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q.Encode()
}

// Active reports whether the filter picks anything less than every event.
func (f Filter) Active() bool { return f != Filter{} }
