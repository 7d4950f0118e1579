package engine

import (
	"context"
	"log/slog"
	"runtime"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
)

const replayEvents = 100_000

// BenchmarkReplay copies 100,000 events into a fresh DuckDB file, next to a
// raw ordered consumer reading (and decoding) the same events. Each
// iteration is one whole replay, its last flush included; compare
// events/s.
//
//	go test ./features/analytics/engine -run '^$' -bench Replay -benchtime 3x
func BenchmarkReplay(b *testing.B) {
	conn := natstest.Connect(b)
	events, err := eventstore.New(b.Context(), conn.JS, eventstore.Config{})
	if err != nil {
		b.Fatal(err)
	}
	last := natstest.Fill(b, conn.JS, "todo", replayEvents, 1000)

	b.Run("raw-ordered-consumer", func(b *testing.B) {
		for b.Loop() {
			cons, err := conn.JS.OrderedConsumer(b.Context(), eventstore.StreamName, jetstream.OrderedConsumerConfig{})
			if err != nil {
				b.Fatal(err)
			}
			msgs, _ := cons.Messages()
			for {
				m, err := msgs.Next()
				if err != nil {
					b.Fatal(err)
				}
				meta, _ := m.Metadata()
				if _, err := eventstore.Decode(m.Subject(), m.Headers(), m.Data(), meta.Sequence.Stream); err != nil {
					b.Fatal(err)
				}
				if meta.Sequence.Stream >= last {
					break
				}
			}
			msgs.Stop()
		}
		b.ReportMetric(float64(replayEvents*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("duckdb-projection", func(b *testing.B) {
		for b.Loop() {
			store, err := Open(b.Context(), b.TempDir()+"/analytics.duckdb")
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(b.Context())
			done := make(chan struct{})
			go func() {
				defer close(done)
				Copier{Store: store, Events: events, Logger: slog.New(slog.DiscardHandler)}.Run(ctx)
			}()
			// Every event appended, then one flush: the copy's own cost,
			// not the wait for its next once-a-second flush.
			for store.appended() < last {
				runtime.Gosched()
			}
			if _, err := store.Flush(); err != nil {
				b.Fatal(err)
			}
			cancel()
			<-done
			b.StopTimer()
			store.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(replayEvents*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// appended is the highest sequence appended, flushed or not.
func (s *Store) appended() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}
