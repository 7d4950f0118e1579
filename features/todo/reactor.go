package todo

import (
	"context"
	"time"

	"ironstar/es"
	"ironstar/nats/projection"
	"ironstar/nats/reactor"
)

// ListCompletionName names the reactor that records completed lists (its
// consumer, its parked bucket, its command IDs). Renaming it runs it again
// over every list: harmless, as a list's completion is recorded once.
const ListCompletionName = "todo_list_completed"

// ListCompletion is a reactor, the example of the pattern (docs/17-reactors.md):
// after an event that can leave every todo of a list completed, it runs
// RecordCompletion on that list. The command's ID is the reactor's
// idempotency key, derived from the event's sequence, so that a delivery
// of the same event again (the instance died before acknowledging it) is a
// duplicate command while es.Handler still remembers it (the list's last
// es.RecentCommands commands). Decide records a completion only once
// anyway, so two events completing the same list (a complete and a delete
// racing), or a duplicate no longer remembered, give one ListCompleted.
func ListCompletion(lists *es.Handler[List, Command, Event]) reactor.Reactor {
	return reactor.Reactor{
		Name:     ListCompletionName,
		Subjects: projection.AggregateSubjects(Aggregate),
		React: func(ctx context.Context, env es.Envelope, key string) error {
			switch env.Type {
			case TypeCompleted, TypeAllMarked, TypeDeleted:
			default:
				return nil // it cannot complete a list
			}
			_, err := lists.Handle(ctx, env.Stream, RecordCompletion{}, es.Metadata{
				CommandID:     key,
				CorrelationID: env.Meta.CorrelationID, // what the user's action caused
				Session:       env.Meta.Session,
				OccurredAt:    time.Now().UTC(),
			})
			return err
		},
	}
}
