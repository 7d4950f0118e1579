package eventstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/es"
	"ironstar/nats/natstest"
)

// BenchmarkAppend compares one event appended through the store with a raw
// JetStream publish carrying the same expected-sequence check, in one run.
func BenchmarkAppend(b *testing.B) {
	s, js := newStore(b)
	ctx := b.Context()
	b.Run("raw-publish", func(b *testing.B) {
		var last uint64
		for b.Loop() {
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
	natstest.Fill(b, js, "noise", 100_000, 1000)
	for _, size := range []int{10, 1000} {
		aggregate := fmt.Sprintf("size%d", size)
		natstest.Fill(b, js, aggregate, size, 1)
		stream := es.StreamID{Aggregate: aggregate, ID: "a0"}
		// Command IDs differ between the aggregates: JetStream's duplicate
		// window is the stream's, not a subject's.
		b.Run(fmt.Sprintf("events=%d", size), func(b *testing.B) {
			for b.Loop() {
				events, _, err := s.Load(b.Context(), stream, 0)
				if err != nil || len(events) != size {
					b.Fatalf("Load = %d events, %v; want %d", len(events), err, size)
				}
			}
		})
	}
}

// counted is the one event of the benchmark's aggregate (the shape Fill
// writes).
type counted struct {
	N int `json:"n"`
}

// BenchmarkHandleLongAggregate runs commands against an aggregate of 1,000
// events (among 100,000 others), without and with snapshots.
func BenchmarkHandleLongAggregate(b *testing.B) {
	s, snaps, js := newStorage(b)
	natstest.Fill(b, js, "noise", 100_000, 1000)
	for _, mode := range []string{"plain", "snapshots"} {
		aggregate := "long" + mode
		reg := es.NewRegistry()
		es.Register[counted](reg, aggregate+".filled", 1)
		natstest.Fill(b, js, aggregate, 1000, 1)
		h := es.Handler[int, struct{}, counted]{
			Store:    s,
			Registry: reg,
			Decider: es.Decider[int, struct{}, counted]{
				Decide: func(n int, _ struct{}) ([]counted, error) { return []counted{{N: n}}, nil },
				Evolve: func(n int, _ counted) int { return n + 1 },
			},
		}
		if mode == "snapshots" {
			h.Snapshots = snaps
		}
		b.Run(mode, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				cmdID := fmt.Sprintf("%s-%d", mode, i)
				if _, err := h.Handle(b.Context(), es.StreamID{Aggregate: aggregate, ID: "a0"}, struct{}{}, es.Metadata{CommandID: cmdID}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCommandOnLongAggregate runs commands through a Handler built the
// way every feature builds one (es.NewHandler, default snapshots) on an
// aggregate of 10 and one of 100,000 events, on the embedded JetStream's
// file store. With snapshots a command loads at most SnapshotEvery events,
// so the two should cost about the same; only the first command on the
// long aggregate folds its whole history (reported as first-ms, outside
// the timed loop). The Handler's cache of aggregates is off: it would skip
// the loads this measures (BenchmarkCommandCache compares the two).
//
//	go test -run '^$' -bench CommandOnLongAggregate -benchtime 2000x ./nats/eventstore
func BenchmarkCommandOnLongAggregate(b *testing.B) {
	s, snaps, js := newStorage(b)
	for _, size := range []int{10, 100_000} {
		aggregate := fmt.Sprintf("events%d", size)
		reg := es.NewRegistry()
		es.Register[counted](reg, aggregate+".filled", 1)
		natstest.Fill(b, js, aggregate, size, 1)
		h := es.NewHandler(es.Storage{Store: s, Snapshots: snaps, Registry: reg, CacheSize: -1}, es.Decider[int, struct{}, counted]{
			Decide: func(n int, _ struct{}) ([]counted, error) { return []counted{{N: n}}, nil },
			Evolve: func(n int, _ counted) int { return n + 1 },
		}, 1)
		stream := es.StreamID{Aggregate: aggregate, ID: "a0"}
		// Command IDs differ between runs (-count), which share the store.
		run := 0
		b.Run(fmt.Sprintf("events=%d", size), func(b *testing.B) {
			run++
			start := time.Now()
			res, err := h.Handle(b.Context(), stream, struct{}{}, es.Metadata{CommandID: fmt.Sprintf("%s-%d-first", aggregate, run)})
			if err != nil || res.Duplicate || res.State <= size {
				b.Fatalf("first command = %+v, %v; want the state past %d", res, err, size)
			}
			first := time.Since(start)
			for i := 0; b.Loop(); i++ {
				if _, err := h.Handle(b.Context(), stream, struct{}{}, es.Metadata{CommandID: fmt.Sprintf("%s-%d-%d", aggregate, run, i)}); err != nil {
					b.Fatal(err)
				}
			}
			// Only a run's first command on a fresh aggregate folds its
			// whole history; later runs start from a snapshot.
			b.ReportMetric(float64(first.Microseconds())/1000, "first-ms")
		})
	}
}

// BenchmarkCommandCache runs commands through a Handler built as every
// feature builds one, on one aggregate of 50 events (a busy todo list)
// among 100,000 others, with the Handler's cache of aggregates (warm: each
// command decides on the state the last one left and reads nothing) and
// without it (each command loads the snapshot and the events since).
//
//	go test -run '^$' -bench CommandCache -benchmem ./nats/eventstore
func BenchmarkCommandCache(b *testing.B) {
	s, snaps, js := newStorage(b)
	natstest.Fill(b, js, "noise", 100_000, 1000)
	for _, mode := range []struct {
		name      string
		cacheSize int
	}{{"cache=off", -1}, {"cache=warm", 0}} {
		aggregate := "cache" + fmt.Sprint(-mode.cacheSize)
		reg := es.NewRegistry()
		es.Register[counted](reg, aggregate+".filled", 1)
		natstest.Fill(b, js, aggregate, 50, 1)
		h := es.NewHandler(es.Storage{Store: s, Snapshots: snaps, Registry: reg, CacheSize: mode.cacheSize}, es.Decider[int, struct{}, counted]{
			Decide: func(n int, _ struct{}) ([]counted, error) { return []counted{{N: n}}, nil },
			Evolve: func(n int, _ counted) int { return n + 1 },
		}, 1)
		stream := es.StreamID{Aggregate: aggregate, ID: "a0"}
		run := 0
		b.Run(mode.name, func(b *testing.B) {
			run++ // command IDs differ between runs (-count), which share the store
			if _, err := h.Handle(b.Context(), stream, struct{}{}, es.Metadata{CommandID: fmt.Sprintf("%s-%d-first", aggregate, run)}); err != nil {
				b.Fatal(err)
			}
			for i := 0; b.Loop(); i++ {
				if _, err := h.Handle(b.Context(), stream, struct{}{}, es.Metadata{CommandID: fmt.Sprintf("%s-%d-%d", aggregate, run, i)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
