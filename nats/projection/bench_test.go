package projection_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/es"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
	"ironstar/nats/projection"
)

const replayEvents = 100_000

// BenchmarkReplay replays 100,000 events (over 1,000 aggregates) into a new
// projection, next to a raw ordered consumer reading the same events: the
// fastest way JetStream offers to read a stream in order. Each iteration is
// one whole replay; events/s is the figure to compare.
func BenchmarkReplay(b *testing.B) {
	conn := natstest.Connect(b)
	if _, err := eventstore.New(b.Context(), conn.JS, eventstore.Config{}); err != nil {
		b.Fatal(err)
	}
	last := natstest.Fill(b, conn.JS, "item", replayEvents, 1000)

	for _, filter := range []string{"", "events.item.>"} {
		name := "all"
		if filter != "" {
			name = "filtered"
		}
		b.Run("raw-ordered-consumer/"+name, func(b *testing.B) {
			for b.Loop() {
				rawRead(b, conn.JS, last, filter)
			}
			b.ReportMetric(float64(replayEvents*b.N)/b.Elapsed().Seconds(), "events/s")
		})
		b.Run("projection/"+name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				replay(b, conn.JS, fmt.Sprintf("replay_%s_%d", name, i), filter, last)
			}
			b.ReportMetric(float64(replayEvents*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// replay runs a new projection over the whole stream.
func replay(b *testing.B, js jetstream.JetStream, name, filter string, last uint64) {
	p := countProjection(name)
	p.Subjects = nil
	if filter != "" {
		p.Subjects = []string{filter}
	}
	r, err := projection.Start(b.Context(), js, p, projection.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
	if err := r.Wait(ctx, last); err != nil {
		b.Fatal(err)
	}
	cancel()
	b.StopTimer()
	r.Stop(b.Context())
	b.StartTimer()
}

var replays atomic.Int64

// countProjection counts events per aggregate: the cheapest fold, so that
// the benchmark measures the machinery rather than the fold.
func countProjection(name string) projection.Projection[int] {
	return projection.Projection[int]{
		Name:  fmt.Sprintf("%s_%d", name, replays.Add(1)),
		Keys:  func(env es.Envelope) []string { return []string{env.Stream.ID} },
		Apply: func(_ string, n int, _ es.Envelope) (int, error) { return n + 1, nil },
	}
}

// rawRead reads every event up to last with an ordered consumer and decodes
// it as the projection would.
func rawRead(b *testing.B, js jetstream.JetStream, last uint64, filter string) {
	cfg := jetstream.OrderedConsumerConfig{}
	if filter != "" {
		cfg.FilterSubjects = []string{filter}
	}
	cons, err := js.OrderedConsumer(b.Context(), eventstore.StreamName, cfg)
	if err != nil {
		b.Fatal(err)
	}
	msgs, err := cons.Messages()
	if err != nil {
		b.Fatal(err)
	}
	defer msgs.Stop()
	counts := map[string]int{}
	for {
		m, err := msgs.Next()
		if err != nil {
			b.Fatal(err)
		}
		meta, _ := m.Metadata()
		env, err := eventstore.Decode(m.Subject(), m.Headers(), m.Data(), meta.Sequence.Stream)
		if err != nil {
			b.Fatal(err)
		}
		counts[env.Stream.ID]++
		if meta.Sequence.Stream >= last {
			return
		}
	}
}
