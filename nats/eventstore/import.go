package eventstore

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/es"
)

// importWindow is how many publishes Import keeps in flight.
const importWindow = 4096

// Import stores events in the order given, fast: pipelined publishes in the
// store's message format, each with its ID (so an import run twice within
// the duplicate window stores each event once), without the
// expected-sequence check of Append. It is for filling a store (seeding,
// benchmarks), never for commands: nothing orders it against concurrent
// appends. It returns the last sequence stored.
func (s *Store) Import(ctx context.Context, events []es.Envelope) (uint64, error) {
	futures := make([]jetstream.PubAckFuture, 0, importWindow)
	var last uint64
	settle := func() error {
		for _, f := range futures {
			select {
			case ack := <-f.Ok():
				last = max(last, ack.Sequence)
			case err := <-f.Err():
				return failed("import", err)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		futures = futures[:0]
		return nil
	}
	for _, e := range events {
		if err := e.Stream.Validate(); err != nil {
			return last, err
		}
		msg := message(e.Stream, e)
		msg.Header.Set(jetstream.MsgIDHeader, e.ID)
		f, err := s.js.PublishMsgAsync(msg)
		if err != nil {
			return last, fmt.Errorf("eventstore: import: %w", err)
		}
		if futures = append(futures, f); len(futures) == importWindow {
			if err := settle(); err != nil {
				return last, err
			}
		}
	}
	return last, settle()
}
