package eventstore_test

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/es"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
)

// BenchmarkAppend compares one event appended through the store with a raw
// JetStream publish carrying the same expected-sequence check, in one run.
func BenchmarkAppend(b *testing.B) {
	s, js := newStore(b)
	ctx := b.Context()
	b.Run("raw-publish", func(b *testing.B) {
		var last uint64
		for i := 0; b.Loop(); i++ {
			ack, err := js.Publish(ctx, "events.raw.one", []byte(`{"text":"buy milk"}`), jetstream.WithExpectLastSequencePerSubject(last))
			if err != nil {
				b.Fatal(err)
			}
			last = ack.Sequence
		}
	})
	b.Run("store", func(b *testing.B) {
		stream := es.StreamID{Aggregate: "store", ID: "one"}
		var version uint64
		for i := 0; b.Loop(); i++ {
			env := es.Envelope{ID: fmt.Sprintf("e%d", i), Type: "todo.added", Version: 1, Data: []byte(`{"text":"buy milk"}`),
				Meta: es.Metadata{CommandID: fmt.Sprintf("c%d", i), Session: "s"}}
			v, err := s.Append(ctx, stream, version, []es.Envelope{env})
			if err != nil {
				b.Fatal(err)
			}
			version = v
		}
	})
}

// BenchmarkLoad loads one aggregate of 10 or 1,000 events from a stream of
// 100,000 others.
func BenchmarkLoad(b *testing.B) {
	s, js := newStore(b)
	ctx := b.Context()
	natstest.Fill(b, js, "noise", 100_000, 1000)
	for _, size := range []int{10, 1000} {
		stream := es.StreamID{Aggregate: "load", ID: fmt.Sprintf("n%d", size)}
		natstest.Fill(b, js, "load", size, 1) // all on events.load.a0
		stream.ID = "a0"
		if size == 1000 {
			// Separate aggregate types so the two sizes do not mix.
			natstest.Fill(b, js, "loadbig", size, 1)
			stream = es.StreamID{Aggregate: "loadbig", ID: "a0"}
		}
		b.Run(fmt.Sprintf("events=%d", size), func(b *testing.B) {
			for b.Loop() {
				events, _, err := s.Load(ctx, stream)
				if err != nil || len(events) != size {
					b.Fatalf("Load = %d events, %v; want %d", len(events), err, size)
				}
			}
		})
	}
	_ = eventstore.StreamName
}
