package sortable

import (
	"ironstar/es"
	"ironstar/nats/projection"
)

// ProjectionName is the read model of every board, keyed by the session's
// public ID.
const ProjectionName = "boards"

// aggregate is the event-store aggregate type of boards.
const aggregate = "sortable"

// BoardView is a board as shown: its items' IDs in order (the read
// model's value).
type BoardView struct {
	Order []string `json:"order"`
}

// Projection folds board events into Views.
func Projection(reg *es.Registry) projection.Projection[BoardView] {
	return projection.Projection[BoardView]{
		Name: ProjectionName,
		// Its events are a small share of the stream: the server skips
		// the rest (see projection.AggregateSubjects).
		Subjects: projection.AggregateSubjects(aggregate),
		Keys:     projection.ByAggregate(aggregate),
		Apply: func(_ string, v BoardView, env es.Envelope) (BoardView, error) {
			e, err := es.DecodeAs[Event](reg, env)
			if err != nil {
				return v, err
			}
			board := Board{Order: v.Order}
			if len(board.Order) == 0 {
				board.Order = DefaultOrder()
			}
			return BoardView{Order: Evolve(board, e).Order}, nil
		},
	}
}
