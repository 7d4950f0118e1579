package natstest

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats/eventstore"
)

// Fill publishes n events spread over the given number of aggregates of
// type aggregate, fast (pipelined, no expected-sequence checks), in the
// store's message format. It returns the last stream sequence.
func Fill(tb testing.TB, js jetstream.JetStream, aggregate string, n, aggregates int) uint64 {
	tb.Helper()
	const window = 4096
	futures := make([]jetstream.PubAckFuture, 0, window)
	var last uint64
	flush := func() {
		for _, f := range futures {
			select {
			case ack := <-f.Ok():
				last = max(last, ack.Sequence)
			case err := <-f.Err():
				tb.Fatalf("fill: %v", err)
			}
		}
		futures = futures[:0]
	}
	for i := range n {
		msg := nats.NewMsg(fmt.Sprintf("%s.%s.a%d", eventstore.SubjectPrefix, aggregate, i%aggregates))
		msg.Header.Set(eventstore.HeaderType, aggregate+".filled")
		msg.Header.Set(eventstore.HeaderVersion, "1")
		msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("fill-%s-%d", aggregate, i))
		msg.Data = []byte(fmt.Sprintf(`{"n":%d}`, i))
		f, err := js.PublishMsgAsync(msg)
		if err != nil {
			tb.Fatalf("fill: %v", err)
		}
		futures = append(futures, f)
		if len(futures) == window {
			flush()
		}
	}
	flush()
	return last
}
