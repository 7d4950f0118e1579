package counter

import (
	"ironstar/es"
	"ironstar/nats/projection"
)

// ProjectionName is the read model of every counter, keyed by counter ID:
// GlobalID, or a session's public ID.
const ProjectionName = "counters"

// aggregate is the event-store aggregate type of counters.
const aggregate = "counter"

// GlobalID names the counter every visitor shares.
const GlobalID = "global"

// CounterView is a counter as shown: the read model's value.
type CounterView struct {
	Value int `json:"value"`
}

// Projection folds counter events into Views.
func Projection(reg *es.Registry) projection.Projection[CounterView] {
	return projection.Projection[CounterView]{
		Name: ProjectionName,
		// Its events are a small share of the stream: the server skips
		// the rest (see projection.AggregateSubjects).
		Subjects: projection.AggregateSubjects(aggregate),
		Keys:     projection.ByAggregate(aggregate),
		Apply: func(_ string, v CounterView, env es.Envelope) (CounterView, error) {
			e, err := es.DecodeAs[Event](reg, env)
			if err != nil {
				return v, err
			}
			return CounterView{Value: Evolve(Counter{Value: v.Value}, e).Value}, nil
		},
	}
}
