package projection

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// change is one value of a watched KV key.
type change struct {
	value    []byte
	revision uint64
	deleted  bool
}

// watchKey follows one key of a KV bucket: its current value first (if it
// has one and updatesOnly is false), then every change, until ctx ends.
//
// It reads the bucket's stream with an ordered pull consumer rather than
// jetstream.KeyValue.Watch: when a NATS node dies, the ordered consumer
// notices the missing heartbeats and recreates itself after the last value
// it delivered, for as long as it takes, whereas the push consumer behind
// Watch can stay silent for good.
func watchKey(ctx context.Context, js jetstream.JetStream, bucket, key string, updatesOnly bool) (<-chan change, error) {
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"$KV." + bucket + "." + key},
		DeliverPolicy:  jetstream.DeliverLastPerSubjectPolicy,
	}
	if updatesOnly {
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	}
	cons, err := js.OrderedConsumer(ctx, "KV_"+bucket, cfg)
	if err != nil {
		return nil, err
	}
	msgs, err := cons.Messages()
	if err != nil {
		return nil, err
	}
	out := make(chan change)
	go func() {
		defer close(out)
		defer msgs.Stop()
		stop := context.AfterFunc(ctx, msgs.Stop)
		defer stop()
		for {
			m, err := msgs.Next()
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return
			}
			if err != nil {
				continue // a timeout while the consumer is recreated elsewhere
			}
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			op := m.Headers().Get("KV-Operation")
			c := change{value: m.Data(), revision: meta.Sequence.Stream, deleted: op == "DEL" || op == "PURGE"}
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
