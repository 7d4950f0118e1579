package projection

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// change is one value of a watched KV key.
type change struct {
	value   []byte
	deleted bool
}

// Timing of a watch: how often the server proves an idle watch alive, and
// how long to wait between attempts to re-create a lost one.
const (
	watchHeartbeat  = 2 * time.Second
	watchMaxBackoff = 500 * time.Millisecond
)

// watchKey follows one key of a KV bucket: its current value first (if it
// has one and updatesOnly is false), then every change, until ctx ends.
//
// It reads the bucket's stream with an ordered consumer rather than
// jetstream.KeyValue.Watch, and re-creates that consumer itself after the
// last revision it passed on whenever it fails: when the NATS node holding
// it dies, heartbeats stop, and a new consumer is asked for every half
// second until the bucket has a leader again. (Watch's push consumer could
// stay silent for good; the ordered consumer's own recovery backs off to
// ten seconds between attempts.)
func watchKey(ctx context.Context, js jetstream.JetStream, bucket, key string, updatesOnly bool) (<-chan change, error) {
	w := keyWatch{js: js, stream: "KV_" + bucket, subject: "$KV." + bucket + "." + key}
	policy := jetstream.DeliverLastPerSubjectPolicy
	if updatesOnly {
		policy = jetstream.DeliverNewPolicy
	}
	msgs, err := w.open(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: policy})
	if err != nil {
		return nil, err
	}
	out := make(chan change)
	go func() {
		defer close(out)
		var last uint64
		for {
			last = w.pump(ctx, msgs, out, last)
			msgs.Stop()
			if msgs = w.reopen(ctx, last); msgs == nil {
				return
			}
		}
	}()
	return out, nil
}

type keyWatch struct {
	js      jetstream.JetStream
	stream  string
	subject string
}

func (w keyWatch) open(ctx context.Context, cfg jetstream.OrderedConsumerConfig) (jetstream.MessagesContext, error) {
	cfg.FilterSubjects = []string{w.subject}
	cfg.MaxResetAttempts = 1 // failures come back to reopen
	cons, err := w.js.OrderedConsumer(ctx, w.stream, cfg)
	if err != nil {
		return nil, err
	}
	return cons.Messages(jetstream.PullHeartbeat(watchHeartbeat))
}

// reopen creates a consumer that starts after revision last (or at the
// key's latest value if nothing was passed on yet), trying until it works
// or ctx ends (nil).
func (w keyWatch) reopen(ctx context.Context, last uint64) jetstream.MessagesContext {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy}
	if last > 0 {
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: last + 1}
	}
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		if msgs, err := w.open(ctx, cfg); err == nil {
			return msgs
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, watchMaxBackoff)
	}
	return nil
}

// pump passes messages on until the consumer fails or ctx ends, and
// returns the last revision passed on.
func (w keyWatch) pump(ctx context.Context, msgs jetstream.MessagesContext, out chan<- change, last uint64) uint64 {
	stop := context.AfterFunc(ctx, msgs.Stop)
	defer stop()
	for {
		m, err := msgs.Next()
		if err != nil {
			return last
		}
		meta, err := m.Metadata()
		if err != nil {
			continue
		}
		op := m.Headers().Get("KV-Operation")
		select {
		case out <- change{value: m.Data(), deleted: op == "DEL" || op == "PURGE"}:
			last = meta.Sequence.Stream
		case <-ctx.Done():
			return last
		}
	}
}
