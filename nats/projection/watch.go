package projection

import (
	"context"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// change is one value of a watched KV key.
type change struct {
	key     string
	value   []byte
	deleted bool
}

// Timing of a watch: how often the server proves an idle watch alive, how
// long to wait between attempts to re-create a lost one, and how long to
// try deleting the consumer of one that ended.
const (
	watchHeartbeat     = 2 * time.Second
	watchMaxBackoff    = 500 * time.Millisecond
	watchRemoveTimeout = 2 * time.Second
)

// watchKey follows one key of a KV bucket: its current value first (if it
// has one and updatesOnly is false), then every change, until ctx ends.
func watchKey(ctx context.Context, js jetstream.JetStream, bucket, key string, updatesOnly bool) (<-chan change, error) {
	policy := jetstream.DeliverLastPerSubjectPolicy
	if updatesOnly {
		policy = jetstream.DeliverNewPolicy
	}
	w := subjectWatch{js: js, bucket: bucket, subject: "$KV." + bucket + "." + key}
	return w.follow(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: policy}, 0)
}

// watchBucket follows every key of a KV bucket: each change made after it
// returns, until ctx ends. One consumer serves all the keys.
func watchBucket(ctx context.Context, js jetstream.JetStream, bucket string) (<-chan change, error) {
	stream, err := js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return nil, err
	}
	// From the leader's last sequence rather than DeliverNew, so that the
	// watch knows where it starts if its first consumer fails at once.
	last := stream.CachedInfo().State.LastSeq
	w := subjectWatch{js: js, bucket: bucket, subject: "$KV." + bucket + ".>"}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: last + 1}
	return w.follow(ctx, cfg, last)
}

// subjectWatch reads the subjects of a bucket's stream with an ordered
// consumer rather than jetstream.KeyValue.Watch, and re-creates that
// consumer itself after the last revision it passed on whenever it fails:
// when the NATS node holding it dies, heartbeats stop, and a new consumer is
// asked for every half second until the bucket has a leader again. (Watch's
// push consumer could stay silent for good; the ordered consumer's own
// recovery backs off to ten seconds between attempts.)
type subjectWatch struct {
	js      jetstream.JetStream
	bucket  string
	subject string
}

// follow opens a consumer with cfg and passes its messages on, re-creating
// it after the last revision passed on (or after last, or with cfg again if
// both are 0) whenever it fails, until ctx ends.
func (w subjectWatch) follow(ctx context.Context, cfg jetstream.OrderedConsumerConfig, last uint64) (<-chan change, error) {
	cons, msgs, err := w.open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	out := make(chan change)
	go func() {
		defer close(out)
		for {
			last = w.pump(ctx, msgs, out, last)
			msgs.Stop()
			if ctx.Err() != nil {
				w.remove(cons)
				return
			}
			if cons, msgs = w.reopen(ctx, cfg, last); msgs == nil {
				return
			}
		}
	}()
	return out, nil
}

func (w subjectWatch) open(ctx context.Context, cfg jetstream.OrderedConsumerConfig) (jetstream.Consumer, jetstream.MessagesContext, error) {
	cfg.FilterSubjects = []string{w.subject}
	cfg.MaxResetAttempts = 1 // failures come back to reopen
	cons, err := w.js.OrderedConsumer(ctx, "KV_"+w.bucket, cfg)
	if err != nil {
		return nil, nil, err
	}
	msgs, err := cons.Messages(jetstream.PullHeartbeat(watchHeartbeat))
	return cons, msgs, err
}

// reopen creates a consumer that starts after revision last (or with
// initial if last is 0), trying until it works or ctx ends (nil).
func (w subjectWatch) reopen(ctx context.Context, initial jetstream.OrderedConsumerConfig, last uint64) (jetstream.Consumer, jetstream.MessagesContext) {
	cfg := initial
	if last > 0 {
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: last + 1}
	}
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		if cons, msgs, err := w.open(ctx, cfg); err == nil {
			return cons, msgs
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, watchMaxBackoff)
	}
	return nil, nil
}

// remove deletes the consumer of a watch that ended, rather than leaving
// it to the server's five minutes of inactivity: a bucket watch stops
// whenever its view's last watcher leaves.
func (w subjectWatch) remove(cons jetstream.Consumer) {
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), watchRemoveTimeout)
	defer cancel()
	_ = w.js.DeleteConsumer(ctx, "KV_"+w.bucket, info.Name) // best effort
}

// pump passes messages on until the consumer fails or ctx ends, and
// returns the last revision passed on.
func (w subjectWatch) pump(ctx context.Context, msgs jetstream.MessagesContext, out chan<- change, last uint64) uint64 {
	stop := context.AfterFunc(ctx, msgs.Stop)
	defer stop()
	prefix := "$KV." + w.bucket + "."
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
		c := change{key: strings.TrimPrefix(m.Subject(), prefix), value: m.Data(), deleted: op == "DEL" || op == "PURGE"}
		select {
		case out <- c:
			last = meta.Sequence.Stream
		case <-ctx.Done():
			return last
		}
	}
}
