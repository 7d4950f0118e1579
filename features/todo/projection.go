package todo

import (
	"ironstar/es"
	"ironstar/nats/projection"
)

// ProjectionName is the read model of every list, keyed by list ID.
// Renaming it replays every todo event into a new bucket.
const ProjectionName = "todo_lists"

// ListView is the read model of one list: what the page shows.
type ListView struct {
	Items []ItemView `json:"items"`
	// AllDone is List.AllDone: the list's completion was recorded.
	AllDone bool `json:"all_done,omitempty"`
}

// ItemView is one todo as shown.
type ItemView struct {
	ID        string `json:"id"`
	Text      string `json:"text"`
	Completed bool   `json:"completed"`
}

// Aggregate is the event-store aggregate type of a list. Renaming it
// orphans the stored lists; the analytics dashboard counts by it too.
const Aggregate = "todo"

// Projection folds todo events into ListViews. It reads every event and
// keeps the todo ones: a server-side subject filter costs more than it
// saves on a stream with many subjects (see the projection benchmarks).
func Projection(reg *es.Registry) projection.Projection[ListView] {
	return projection.Projection[ListView]{
		Name: ProjectionName,
		Keys: projection.ByAggregate(Aggregate),
		Apply: func(_ string, current ListView, env es.Envelope) (ListView, error) {
			e, err := es.DecodeAs[Event](reg, env)
			if err != nil {
				return current, err
			}
			// The read model follows the list exactly, so it reuses the
			// domain's Evolve rather than restating it.
			return toView(Evolve(fromView(current), e)), nil
		},
	}
}

func fromView(v ListView) List {
	l := List{Items: make([]Item, len(v.Items)), AllDone: v.AllDone}
	for i, it := range v.Items {
		l.Items[i] = Item{ID: it.ID, Text: it.Text, Completed: it.Completed}
	}
	return l
}

func toView(l List) ListView {
	v := ListView{Items: make([]ItemView, len(l.Items)), AllDone: l.AllDone}
	for i, it := range l.Items {
		v.Items[i] = ItemView{ID: it.ID, Text: it.Text, Completed: it.Completed}
	}
	return v
}
