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
//     A transient failure (the store unavailable or full, a conflict, a
//     timeout: see Transient) is retried until it passes, never parked.
//     After MaxAttempts other failures the event is parked: recorded in a
//     KV bucket every instance reads, and acknowledged, so the reactor
//     moves on. Redrive runs a parked event's effect again.
//   - Events pulled and waiting behind a slow effect are kept in progress,
//     so that none passes AckWait and goes to another instance while it is
//     still held here.
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
	"sync"
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
	// every delivery of env. An error is retried with back-off: a
	// transient one (see Transient) until it passes, any other up to
	// MaxAttempts times before the event is parked; an error wrapped with
	// Permanent is parked at once.
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
	// AckWait is how long an instance that stopped answering holds an
	// event before it is delivered again, to this or another instance
	// (10 s if 0). It bounds each call of React too.
	AckWait time.Duration
	// MaxAttempts is how many times an effect may fail before its event is
	// parked (5 if 0). Only attempts that ended in an error other than a
	// transient one count: not a transient failure, not a delivery that
	// never reached React (handed back at a stop), not a delivery to an
	// instance that died during the effect.
	MaxAttempts int
	// Backoff is the pause before the second attempt (1 s if 0); each
	// later one doubles it, up to MaxBackoff (5 min if 0) after counted
	// failures, up to MaxTransientBackoff (1 min if 0) after transient
	// ones.
	Backoff             time.Duration
	MaxBackoff          time.Duration
	MaxTransientBackoff time.Duration
	Logger              *slog.Logger
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
	if o.MaxTransientBackoff <= 0 {
		o.MaxTransientBackoff = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// delay is the pause after the n-th failure: Backoff, doubled for each
// failure before, at most limit.
func (o Options) delay(n uint64, limit time.Duration) time.Duration {
	d := o.Backoff
	for i := uint64(1); i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// batchSize is how many events one pull asks for. Small: an instance holds
// what it pulled until it has handled it (at most about AckWait, see
// work), and another instance could be handling some of it meanwhile.
const batchSize = 16

// maxListed bounds how many parked events Status lists.
const maxListed = 100

var validName = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// Errors.
var (
	// ErrDegraded means a reactor has parked events: their effects did not
	// happen, every other event's did.
	ErrDegraded = errors.New("reactor: degraded")
	// ErrNotParked means Redrive was asked for an event the reactor has not
	// parked.
	ErrNotParked = errors.New("reactor: event not parked")
	// errPermanent marks an effect's error as not worth retrying.
	errPermanent = errors.New("permanent")
	// errTransient marks an effect's error as passing by itself.
	errTransient = errors.New("transient")
)

// Permanent wraps err to say that retrying the effect cannot help (a
// webhook answering 400, an event the effect cannot make sense of): the
// event is parked at its first failure.
func Permanent(err error) error { return fmt.Errorf("%w: %w", errPermanent, err) }

// Transient wraps err to say that it passes by itself (a webhook answering
// 503 or 429, a mail server's "try again later"): the effect is retried,
// with back-off up to MaxTransientBackoff, until it succeeds or fails
// otherwise, and the failure does not count towards parking.
// es.ErrUnavailable, es.ErrStoreFull (until an operator raises the cap),
// es.ErrConcurrency and context.DeadlineExceeded (React's AckWait, or a
// timeout of its own) are transient without it.
func Transient(err error) error { return fmt.Errorf("%w: %w", errTransient, err) }

// transient reports whether an effect's error is retried without counting.
func transient(err error) bool {
	if errors.Is(err, errPermanent) {
		return false
	}
	for _, target := range []error{errTransient, es.ErrUnavailable, es.ErrStoreFull, es.ErrConcurrency, context.DeadlineExceeded} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// consumerName is the durable consumer of a reactor, parkedBucket its
// parked events' bucket. The bucket holds, under failuresKey, how many
// counted failures an event not parked yet has had.
func consumerName(name string) string { return "react_" + name }
func parkedBucket(name string) string { return "react_" + name + "_parked" }
func failuresKey(seq uint64) string   { return "failures." + strconv.FormatUint(seq, 10) }

// Runner runs one reactor in this process. Start one per reactor in every
// app instance: they share the consumer, so each event goes to one of them
// at a time.
type Runner struct {
	r        Reactor
	o        Options
	js       jetstream.JetStream
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
	run := &Runner{r: r, o: o, js: js, consumer: consumer, parked: parked, cancel: cancel, done: make(chan struct{})}
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
		run.work(ctx, batch, logger)
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && ctx.Err() == nil {
			logger.Warn("reactor: fetch", "err", err)
		}
	}
}

// work handles a batch's events one after another as they arrive. Every
// event held, waiting or in hand, is kept in progress (each third of
// AckWait): otherwise one waiting behind slow effects would pass AckWait
// and be delivered to another instance, its effect run twice at once. And
// a batch is held about AckWait at most: once that is spent, the events
// not started are handed back for any instance to take.
func (run *Runner) work(ctx context.Context, batch jetstream.MessageBatch, logger *slog.Logger) {
	var mu sync.Mutex
	var held []jetstream.Msg
	queue := make(chan jetstream.Msg, batchSize) // a batch never blocks it
	worked := make(chan struct{})
	defer close(worked)
	go func() {
		tick := time.NewTicker(max(run.o.AckWait/3, time.Millisecond))
		defer tick.Stop()
		arriving := batch.Messages()
		for {
			select {
			case m, ok := <-arriving:
				if !ok {
					close(queue)
					arriving = nil
					continue
				}
				mu.Lock()
				held = append(held, m)
				mu.Unlock()
				queue <- m
			case <-tick.C:
				mu.Lock()
				for _, m := range held {
					m.InProgress()
				}
				mu.Unlock()
			case <-worked:
				return
			}
		}
	}()
	fetched := time.Now()
	for m := range queue {
		if ctx.Err() != nil || time.Since(fetched) > run.o.AckWait {
			m.Nak() // handed back at once; not an attempt
		} else {
			run.handle(ctx, m, logger)
		}
		mu.Lock()
		held = slices.DeleteFunc(held, func(h jetstream.Msg) bool { return h == m })
		mu.Unlock()
	}
}

// handle performs one event's effect and settles the message: acknowledged
// once the effect succeeded or the event is parked, handed back with a
// delay otherwise.
func (run *Runner) handle(ctx context.Context, m jetstream.Msg, logger *slog.Logger) {
	m.InProgress() // the effect gets a whole AckWait from now
	meta, err := m.Metadata()
	if err != nil {
		logger.Warn("reactor: message metadata", "err", err)
		m.Nak()
		return
	}
	seq := meta.Sequence.Stream
	env, err := eventstore.Decode(m.Subject(), m.Headers(), m.Data(), seq)
	if err == nil {
		err = run.react(ctx, env, seq)
	} else {
		err = Permanent(fmt.Errorf("decode: %w", err))
	}
	// Settled even if the runner is stopping: the effect is done.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), run.o.AckWait)
	defer cancel()
	if err == nil {
		run.handled.Add(1)
		if meta.NumDelivered > 1 {
			run.forgetFailures(ctx, seq, logger)
		}
		if err := m.Ack(); err != nil {
			logger.Warn("reactor: ack (the event will be delivered again)", "seq", seq, "err", err)
		}
		return
	}
	if transient(err) {
		delay := run.o.delay(meta.NumDelivered, run.o.MaxTransientBackoff)
		logger.Warn("reactor: effect failed on a transient error; retrying, not counted", "seq", seq, "type", env.Type,
			"delivery", meta.NumDelivered, "retry_in", delay, "err", err)
		m.NakWithDelay(delay)
		return
	}
	failures := 1
	if meta.NumDelivered > 1 {
		failures += run.failures(ctx, seq, logger)
	}
	if failures < run.o.MaxAttempts && !errors.Is(err, errPermanent) {
		delay := run.o.delay(uint64(failures), run.o.MaxBackoff)
		logger.Warn("reactor: effect failed; retrying", "seq", seq, "type", env.Type, "attempt", failures, "retry_in", delay, "err", err)
		if _, err := run.parked.Put(ctx, failuresKey(seq), []byte(strconv.Itoa(failures))); err != nil {
			logger.Warn("reactor: record a failure (not counted)", "seq", seq, "err", err)
		}
		m.NakWithDelay(delay)
		return
	}
	p := Parked{Seq: seq, Type: m.Headers().Get(eventstore.HeaderType), Attempts: failures, Error: err.Error(), At: time.Now().UTC()}
	data, _ := json.Marshal(p)
	if _, err := run.parked.Put(ctx, strconv.FormatUint(seq, 10), data); err != nil {
		// Not recorded, so not given up on: tried again later.
		logger.Warn("reactor: park event", "seq", seq, "err", err)
		m.NakWithDelay(run.o.delay(uint64(failures), run.o.MaxBackoff))
		return
	}
	logger.Error("reactor: parked an event whose effect keeps failing; later events go on",
		"seq", seq, "type", p.Type, "attempts", failures, "err", err)
	run.forgetFailures(ctx, seq, logger)
	if err := m.Term(); err != nil {
		logger.Warn("reactor: ack parked event", "seq", seq, "err", err)
	}
}

// failures returns how many counted failures the effect of the event at
// seq has had; 0 if none is recorded or the record cannot be read.
func (run *Runner) failures(ctx context.Context, seq uint64, logger *slog.Logger) int {
	entry, err := run.parked.Get(ctx, failuresKey(seq))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0
	} else if err != nil {
		logger.Warn("reactor: read an event's failures (counted from 0)", "seq", seq, "err", err)
		return 0
	}
	n, _ := strconv.Atoi(string(entry.Value()))
	return n
}

// forgetFailures deletes the failure count of the event at seq, if any
// (without writing a delete marker for nothing).
func (run *Runner) forgetFailures(ctx context.Context, seq uint64, logger *slog.Logger) {
	if _, err := run.parked.Get(ctx, failuresKey(seq)); err != nil {
		return
	}
	if err := run.parked.Purge(ctx, failuresKey(seq)); err != nil {
		logger.Warn("reactor: forget an event's failures", "seq", seq, "err", err)
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

// Name is the reactor's name.
func (run *Runner) Name() string { return run.r.Name }

// Redrive runs the effect of the parked event at stream sequence seq again,
// once the cause of its failure is fixed, and deletes its parked entry if
// the effect succeeds (readiness is then no longer degraded, if it was the
// only one). The effect gets the same idempotency key as before. It fails
// with ErrNotParked if the event is not parked, and with the effect's
// error, the event staying parked, if it fails again.
func (run *Runner) Redrive(ctx context.Context, seq uint64) error {
	key := strconv.FormatUint(seq, 10)
	if _, err := run.parked.Get(ctx, key); errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("%w: reactor %s, event %d", ErrNotParked, run.r.Name, seq)
	} else if err != nil {
		return fmt.Errorf("reactor %s: parked event %d: %w", run.r.Name, seq, err)
	}
	stream, err := run.js.Stream(ctx, eventstore.StreamName)
	if err != nil {
		return fmt.Errorf("reactor %s: redrive event %d: %w", run.r.Name, seq, err)
	}
	msg, err := stream.GetMsg(ctx, seq)
	if err != nil {
		return fmt.Errorf("reactor %s: redrive event %d: %w", run.r.Name, seq, err)
	}
	env, err := eventstore.Decode(msg.Subject, msg.Header, msg.Data, seq)
	if err != nil {
		return fmt.Errorf("reactor %s: redrive event %d: decode: %w", run.r.Name, seq, err)
	}
	if err := run.react(ctx, env, seq); err != nil {
		return fmt.Errorf("reactor %s: redrive event %d: %w", run.r.Name, seq, err)
	}
	run.handled.Add(1)
	if err := run.parked.Purge(ctx, key); err != nil {
		return fmt.Errorf("reactor %s: the effect of event %d succeeded; clear its parked entry: %w", run.r.Name, seq, err)
	}
	return nil
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
