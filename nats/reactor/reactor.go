package reactor

// The pattern, in short (docs/17-reactors.md tells it at length):
//
//   - One durable consumer on EVENTS per reactor, react_<name>, filtered to
//     its subjects. Every instance of the app pulls from it; the server
//     gives each event to one of them at a time. Its acknowledgement floor
//     is where the reactor stands.
//   - Delivery is at least once: an instance that dies between the effect
//     and the acknowledgement leaves the event to be delivered again after
//     AckWait. So the effect is handed an idempotency key, the same on
//     every delivery of the event, and must make itself idempotent with it:
//     the command ID of an event it appends, the Idempotency-Key header of
//     a webhook.
//   - An effect that fails is retried with exponential back-off (the event
//     is handed back with a delay; the events after it go on meanwhile).
//     After MaxAttempts deliveries it is parked: recorded in a KV bucket
//     every instance reads, and acknowledged, so the reactor moves on.
//
// Events are not reacted to in stream order: a retried event waits while
// later ones are handled. An effect that depends on order reads the state
// it needs (an aggregate, a read model) when it runs, rather than trusting
// the event alone.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/es"
	"ironstar/nats/ensure"
	"ironstar/nats/eventstore"
)

// Reactor describes one side effect.
type Reactor struct {
	// Name identifies the reactor ([a-z0-9_-]); it names its consumer, its
	// parked bucket and its idempotency keys, so renaming a reactor runs
	// it again over the whole stream.
	Name string
	// Subjects filters the events it sees, e.g. "events.todo.>"; all if
	// empty.
	Subjects []string
	// React performs the effect of env, or returns nil if env calls for
	// none. key is the effect's idempotency key (see Key): the same on
	// every delivery of env. An error is retried with back-off; an error
	// wrapped with Permanent is parked at once.
	React func(ctx context.Context, env es.Envelope, key string) error
}

// Key is the idempotency key of reactor name's effect of the event at
// stream sequence seq: unique per reactor and event, the same on every
// delivery.
func Key(name string, seq uint64) string {
	return name + "-" + strconv.FormatUint(seq, 10)
}

// Options tune a runner; the zero value is sensible.
type Options struct {
	// Replicas for the consumer and the parked bucket (1 if 0).
	Replicas int
	// AckWait is how long an effect may take before its event is delivered
	// again, to this or another instance (10 s if 0). It bounds each call
	// of React too.
	AckWait time.Duration
	// MaxAttempts is how many deliveries an event gets before it is
	// parked (5 if 0). A delivery to an instance that died counts.
	MaxAttempts int
	// Backoff is the pause before the second attempt (1 s if 0); each
	// later one doubles it, up to MaxBackoff (5 min if 0).
	Backoff    time.Duration
	MaxBackoff time.Duration
	Logger     *slog.Logger
}

func (o Options) withDefaults() Options {
	o.Replicas = max(o.Replicas, 1)
	if o.AckWait <= 0 {
		o.AckWait = 10 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// delay is the pause after the attempt-th delivery failed: Backoff,
// doubled for each attempt before, at most MaxBackoff.
func (o Options) delay(attempt uint64) time.Duration {
	d := o.Backoff
	for i := uint64(1); i < attempt && d < o.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, o.MaxBackoff)
}

// batchSize is how many events one pull asks for. Small: an instance holds
// what it pulled until it has handled it, and another instance could be
// handling some of it meanwhile.
const batchSize = 16

// maxListed bounds how many parked events Status lists.
const maxListed = 100

var validName = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// Errors.
var (
	// ErrDegraded means a reactor has parked events: their effects did not
	// happen, every other event's did.
	ErrDegraded = errors.New("reactor: degraded")
	// errPermanent marks an effect's error as not worth retrying.
	errPermanent = errors.New("permanent")
)

// Permanent wraps err to say that retrying the effect cannot help (a
// webhook answering 400, an event the effect cannot make sense of): the
// event is parked at its first failure.
func Permanent(err error) error { return fmt.Errorf("%w: %w", errPermanent, err) }

// consumerName is the durable consumer of a reactor, parkedBucket its
// parked events' bucket.
func consumerName(name string) string { return "react_" + name }
func parkedBucket(name string) string { return "react_" + name + "_parked" }

// Runner runs one reactor in this process. Start one per reactor in every
// app instance: they share the consumer, so each event goes to one of them
// at a time.
type Runner struct {
	r        Reactor
	o        Options
	consumer jetstream.Consumer
	parked   jetstream.KeyValue
	handled  atomic.Uint64
	cancel   context.CancelFunc
	done     chan struct{}
}

// Start opens (or creates) the reactor's consumer and parked bucket and
// reacts to events until Stop. A new reactor starts from the first event of
// its subjects: its effects must be welcome for old events too, or check
// the event's time.
func Start(ctx context.Context, js jetstream.JetStream, r Reactor, o Options) (*Runner, error) {
	if !validName.MatchString(r.Name) {
		return nil, fmt.Errorf("reactor: invalid name %q", r.Name)
	}
	if r.React == nil {
		return nil, fmt.Errorf("reactor %s: React is required", r.Name)
	}
	o = o.withDefaults()
	parked, err := ensure.KeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: parkedBucket(r.Name), Storage: jetstream.FileStorage, Replicas: o.Replicas,
		Description: "events reactor " + r.Name + " gave up on",
	})
	if err != nil {
		return nil, fmt.Errorf("reactor %s: parked bucket: %w", r.Name, err)
	}
	consumer, err := ensure.Consumer(ctx, js, eventstore.StreamName, jetstream.ConsumerConfig{
		Durable:        consumerName(r.Name),
		Description:    "reactor " + r.Name,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        o.AckWait,
		MaxDeliver:     -1, // parking, not the server, ends the attempts
		MaxAckPending:  1000,
		FilterSubjects: r.Subjects,
		Replicas:       o.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("reactor %s: consumer: %w", r.Name, err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	run := &Runner{r: r, o: o, consumer: consumer, parked: parked, cancel: cancel, done: make(chan struct{})}
	go run.loop(runCtx)
	return run, nil
}

// loop pulls and handles events until ctx ends. Events in hand when it
// ends are handed back at once rather than left to wait out AckWait.
func (run *Runner) loop(ctx context.Context) {
	defer close(run.done)
	logger := run.o.Logger.With("reactor", run.r.Name)
	pause := time.Duration(0)
	for ctx.Err() == nil {
		batch, err := run.consumer.Fetch(batchSize, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			logger.Warn("reactor: fetch", "err", err)
			pause = min(max(2*pause, 100*time.Millisecond), 5*time.Second)
			select {
			case <-ctx.Done():
			case <-time.After(pause):
			}
			continue
		}
		pause = 0
		for m := range batch.Messages() {
			if ctx.Err() != nil {
				m.Nak()
				continue
			}
			run.handle(ctx, m, logger)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && ctx.Err() == nil {
			logger.Warn("reactor: fetch", "err", err)
		}
	}
}

// handle performs one event's effect and settles the message: acknowledged
// once the effect succeeded or the event is parked, handed back with a
// delay otherwise.
func (run *Runner) handle(ctx context.Context, m jetstream.Msg, logger *slog.Logger) {
	meta, err := m.Metadata()
	if err != nil {
		logger.Warn("reactor: message metadata", "err", err)
		m.Nak()
		return
	}
	seq, attempt := meta.Sequence.Stream, meta.NumDelivered
	env, err := eventstore.Decode(m.Subject(), m.Headers(), m.Data(), seq)
	if err == nil {
		err = run.react(ctx, env, seq)
	} else {
		err = Permanent(fmt.Errorf("decode: %w", err))
	}
	if err == nil {
		run.handled.Add(1)
		if err := m.Ack(); err != nil {
			logger.Warn("reactor: ack (the event will be delivered again)", "seq", seq, "err", err)
		}
		return
	}
	if attempt < uint64(run.o.MaxAttempts) && !errors.Is(err, errPermanent) {
		delay := run.o.delay(attempt)
		logger.Warn("reactor: effect failed; retrying", "seq", seq, "type", env.Type, "attempt", attempt, "retry_in", delay, "err", err)
		m.NakWithDelay(delay)
		return
	}
	p := Parked{Seq: seq, Type: m.Headers().Get(eventstore.HeaderType), Attempts: int(attempt), Error: err.Error(), At: time.Now().UTC()}
	data, _ := json.Marshal(p)
	if _, err := run.parked.Put(ctx, strconv.FormatUint(seq, 10), data); err != nil {
		// Not recorded, so not given up on: tried again later.
		logger.Warn("reactor: park event", "seq", seq, "err", err)
		m.NakWithDelay(run.o.delay(attempt))
		return
	}
	logger.Error("reactor: parked an event whose effect keeps failing; later events go on",
		"seq", seq, "type", p.Type, "attempts", attempt, "err", err)
	if err := m.Term(); err != nil {
		logger.Warn("reactor: ack parked event", "seq", seq, "err", err)
	}
}

// react calls React within AckWait, a panic taken for an error. The
// effect is not cut short by Stop: it runs to its end or to AckWait.
func (run *Runner) react(ctx context.Context, env es.Envelope, seq uint64) (err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), run.o.AckWait)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return run.r.React(ctx, env, Key(run.r.Name, seq))
}

// Stop finishes the effect in hand, hands back the events pulled and not
// handled, and returns when the runner has stopped or ctx ends.
func (run *Runner) Stop(ctx context.Context) error {
	run.cancel()
	select {
	case <-run.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Status asks JetStream where the reactor stands (one consumer-info
// request) and lists its parked events (at most 100, oldest first).
func (run *Runner) Status(ctx context.Context) (Status, error) {
	st := Status{Name: run.r.Name, Handled: run.handled.Load()}
	info, err := run.consumer.Info(ctx)
	if err != nil {
		return st, fmt.Errorf("reactor %s: consumer info: %w", run.r.Name, err)
	}
	st.Position = info.AckFloor.Stream
	st.Lag = info.NumPending + uint64(info.NumAckPending)
	st.Retrying = info.NumRedelivered
	st.Parked, err = run.listParked(ctx, maxListed)
	return st, err
}

// Health returns an error wrapping ErrDegraded, naming the reactor and its
// first parked event, while it has parked events; or an error reading
// them. It is meant for a readiness check.
func (run *Runner) Health(ctx context.Context) error {
	parked, err := run.listParked(ctx, 1)
	if err != nil || len(parked) == 0 {
		return err
	}
	first := parked[0]
	return fmt.Errorf("%w: reactor %s has parked events; first: event %d (%s) after %d attempts: %s",
		ErrDegraded, run.r.Name, first.Seq, first.Type, first.Attempts, first.Error)
}

// listParked returns up to limit parked events, oldest first. An operator
// clears one by deleting its key (its sequence) from the bucket.
func (run *Runner) listParked(ctx context.Context, limit int) ([]Parked, error) {
	if status, err := run.parked.Status(ctx); err != nil {
		return nil, fmt.Errorf("reactor %s: parked bucket: %w", run.r.Name, err)
	} else if status.Values() == 0 {
		return nil, nil // the usual answer, in one request
	}
	lister, err := run.parked.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("reactor %s: list parked events: %w", run.r.Name, err)
	}
	defer lister.Stop()
	var seqs []uint64
	for key := range lister.Keys() {
		if seq, err := strconv.ParseUint(key, 10, 64); err == nil {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	var out []Parked
	for _, seq := range seqs[:min(len(seqs), limit)] {
		entry, err := run.parked.Get(ctx, strconv.FormatUint(seq, 10))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // cleared meanwhile
		} else if err != nil {
			return nil, fmt.Errorf("reactor %s: parked event %d: %w", run.r.Name, seq, err)
		}
		var p Parked
		if err := json.Unmarshal(entry.Value(), &p); err != nil {
			return nil, fmt.Errorf("reactor %s: parked event %d: %w", run.r.Name, seq, err)
		}
		out = append(out, p)
	}
	return out, nil
}
