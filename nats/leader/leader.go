// Package leader keeps one process active among several that could do the
// same work, e.g. the analytics engine, which must follow the event stream
// into its DuckDB file exactly once however many engine processes run.
//
// The active process (the leader) holds a lease: a key in a JetStream KV
// bucket whose value names it. The bucket's MaxAge (Options.TTL) removes a
// key that is not rewritten within the TTL, so the lease of a process that
// died or lost NATS runs out and a standby, which keeps trying to create the
// key, takes over; a leader that stops on purpose deletes its key and a
// standby takes over within TTL/4.
//
// A leader renews its lease every TTL/4 by an update at the revision it
// wrote last, and stops acting (the context given to its work is cancelled)
// as soon as a renewal is refused or no renewal has succeeded for 2/3 of the
// TTL, counted from when the renewal was sent: a third of the TTL before the
// key could run out and another process take it, so two leaders never act at
// once while clocks run at the same pace. A process paused for longer than
// that margin (a long GC pause, SIGSTOP, a VM stalled) notices only when it
// runs again, and may act briefly after a standby has taken over; the lease
// narrows that window to a pause, it cannot close it. Work whose effects must
// not happen twice (the engine's checkpointed DuckDB copy) must therefore be
// idempotent: it resumes from its own checkpoint, not from what it believes
// it did.
//
// Why bucket MaxAge and not per-key TTLs (jetstream.KeyTTL): a per-key TTL
// is set by Create only, and KeyValue.Update writes the renewed value
// without one, so a renewed lease would never run out. MaxAge applies to
// every write; its cost is that the bucket holds leases only.
package leader

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats/jetstreamx"
)

// DefaultTTL is the lease time when Options.TTL is zero: a dead leader is
// replaced within 6 s, and a leader survives NATS not answering for 4 s.
const DefaultTTL = 6 * time.Second

// Causes of the cancellation of lead's context (read them with
// context.Cause); when Run's own context ends, lead sees that context's
// cause instead.
var (
	// ErrLost means a renewal was refused: the key was deleted, overwritten
	// or had run out, so another process may lead now.
	ErrLost = errors.New("leader: lease lost to another holder")
	// ErrNotRenewed means no renewal succeeded for 2/3 of the TTL (NATS did
	// not answer), so the lease may run out soon.
	ErrNotRenewed = errors.New("leader: lease not renewed in time")
)

// Options names the lease and this process.
type Options struct {
	// Bucket is the KV bucket of leases; Run creates it, or updates its
	// configuration. Every campaigner for a key must use the same TTL.
	Bucket string
	// Key names the role, e.g. "analytics".
	Key string
	// Holder names this process among the campaigners (e.g. host:pid); it
	// must be unique, as a key naming Holder is taken to be this process's.
	Holder string
	// TTL is how long a lease lasts without renewal; zero means DefaultTTL.
	TTL time.Duration
	// Replicas of the bucket; zero means one.
	Replicas int
}

// Run campaigns for the lease until ctx ends, and while this process holds
// it runs lead with a context that is cancelled as soon as the lease may be
// lost (see ErrLost, ErrNotRenewed) or ctx ends. Standbys try to take the
// lease every TTL/4.
//
// After lead's context is cancelled Run keeps renewing the lease where it
// still can until lead returns, so that a standby does not start while lead
// winds down; lead should nonetheless return promptly. Then Run deletes the
// key if it still holds it and campaigns again, or returns if ctx has ended.
// When lead returns by itself, Run gives up the lease the same way and sits
// out one TTL before campaigning again, so that a standby takes over (and a
// failing lead is not restarted in a tight loop). lead returns no error: Run
// could do nothing with it but give up the lease, which returning does; lead
// logs its own failures.
//
// Run returns nil when ctx ends, or an error at the start when the options
// are invalid or the bucket cannot be created for a reason other than NATS
// not answering yet (that it waits out).
func Run(ctx context.Context, js jetstream.JetStream, opts Options, lead func(ctx context.Context)) error {
	if opts.Bucket == "" || opts.Key == "" || opts.Holder == "" {
		return errors.New("leader: Bucket, Key and Holder are required")
	}
	if opts.TTL < 0 {
		return fmt.Errorf("leader: negative TTL %s", opts.TTL)
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	e := &election{opts: opts, tick: opts.TTL / 4, stepDownAfter: opts.TTL * 2 / 3}
	kv, err := e.bucket(ctx, js)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	e.kv = kv
	for {
		lease, ok := e.campaign(ctx)
		if !ok {
			return nil
		}
		quit := e.hold(ctx, lease, lead)
		if ctx.Err() != nil {
			return nil
		}
		if quit && !wait(ctx, opts.TTL) {
			return nil
		}
	}
}

// Holder reports which process holds the lease of key in bucket now; ok is
// false when none does (no campaigner runs, or the last leader died and its
// lease ran out). It reads from the bucket's leader, so that a lease just
// taken or given up is seen at once.
func Holder(ctx context.Context, js jetstream.JetStream, bucket, key string) (holder string, ok bool, err error) {
	kv, err := js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("leader: open %s: %w", bucket, err)
	}
	value, _, err := jetstreamx.KVGet(ctx, js, kv, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("leader: read %s.%s: %w", bucket, key, err)
	}
	return string(value), true, nil
}

// election is one process's campaign for one key.
type election struct {
	opts Options
	kv   jetstream.KeyValue
	// tick is how often a leader renews and a standby tries to take over.
	tick time.Duration
	// stepDownAfter is how long after sending its last successful renewal
	// a leader stops acting.
	stepDownAfter time.Duration
}

// lease is a key this process wrote: its revision, and when the leader
// must stop acting unless it renews.
type lease struct {
	revision uint64
	actUntil time.Time
	held     bool
}

// bucket creates the lease bucket or updates it to this configuration,
// waiting while NATS does not answer.
func (e *election) bucket(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	cfg := jetstream.KeyValueConfig{Bucket: e.opts.Bucket, History: 1, TTL: e.opts.TTL, Replicas: e.opts.Replicas}
	retry := time.NewTicker(e.tick)
	defer retry.Stop()
	for {
		kv, err := js.CreateOrUpdateKeyValue(ctx, cfg)
		if err == nil {
			return kv, nil
		}
		if !jetstreamx.Transient(err) {
			return nil, fmt.Errorf("leader: create bucket %s: %w", e.opts.Bucket, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-retry.C:
		}
	}
}

// campaign tries to take the lease every tick until it does (ok) or ctx
// ends. A try under way when ctx ends is finished, not abandoned: the
// server may have stored the key without the answer having arrived, and
// the key is given up then.
func (e *election) campaign(ctx context.Context) (l lease, ok bool) {
	retry := time.NewTicker(e.tick)
	defer retry.Stop()
	for {
		l, err := e.acquire(context.WithoutCancel(ctx))
		if ctx.Err() != nil {
			e.release(ctx, l)
			return lease{}, false
		}
		if err == nil {
			return l, true
		}
		select {
		case <-ctx.Done():
			return lease{}, false
		case <-retry.C:
		}
	}
}

// acquire creates the key naming this process. A key that already names it
// (a renewal whose answer was lost, a lease given up in vain) is taken back
// by an update at its revision: no other process can hold it meanwhile.
func (e *election) acquire(ctx context.Context) (lease, error) {
	// Bounded by a tick, so that actUntil is still ahead when it succeeds.
	ctx, cancel := context.WithTimeout(ctx, e.tick)
	defer cancel()
	sent := time.Now()
	revision, err := e.kv.Create(ctx, e.opts.Key, []byte(e.opts.Holder))
	if errors.Is(err, jetstream.ErrKeyExists) {
		var entry jetstream.KeyValueEntry
		entry, err = e.kv.Get(ctx, e.opts.Key)
		if err != nil {
			return lease{}, err
		}
		if string(entry.Value()) != e.opts.Holder {
			return lease{}, jetstream.ErrKeyExists
		}
		sent = time.Now()
		revision, err = e.kv.Update(ctx, e.opts.Key, []byte(e.opts.Holder), entry.Revision())
	}
	if err != nil {
		return lease{}, err
	}
	return lease{revision: revision, actUntil: sent.Add(e.stepDownAfter), held: true}, nil
}

// hold runs lead while renewing l, and returns once lead has returned and
// the lease (if still held) is deleted. quit reports that lead returned by
// itself rather than being cancelled.
func (e *election) hold(ctx context.Context, l lease, lead func(ctx context.Context)) (quit bool) {
	leadCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		lead(leadCtx)
	}()
	renew := time.NewTicker(e.tick)
	defer renew.Stop()
	stepDown := time.NewTimer(time.Until(l.actUntil))
	defer stepDown.Stop()
	for {
		select {
		case <-ended:
			quit = leadCtx.Err() == nil
			e.release(ctx, l)
			return quit
		case <-stepDown.C:
			stop(ErrNotRenewed)
		case <-renew.C:
			if !l.held {
				continue
			}
			switch renewed, err := e.renew(ctx, l); {
			case err == nil:
				l = renewed
				stepDown.Reset(time.Until(l.actUntil))
			case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
				l.held = false
				stop(ErrLost)
			}
			// Any other error is NATS not answering: the next tick tries
			// again, and stepDown fires if none succeeds in time.
		}
	}
}

// renew rewrites the key at the revision this process wrote last. It also
// runs after ctx has ended, while lead winds down, and gives up in time for
// the step-down while the leader is still acting.
func (e *election) renew(ctx context.Context, l lease) (lease, error) {
	sent := time.Now()
	deadline := l.actUntil
	if !deadline.After(sent) {
		deadline = sent.Add(e.tick)
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	revision, err := e.kv.Update(ctx, e.opts.Key, []byte(e.opts.Holder), l.revision)
	if err != nil {
		return l, err
	}
	return lease{revision: revision, actUntil: sent.Add(e.stepDownAfter), held: true}, nil
}

// release deletes the key if it still names this process, so that a
// standby takes over at its next try instead of after the TTL. The key may
// have moved past l's revision (a renewal whose answer was lost), or l may
// no longer count as held for that reason: then the key is read, and
// deleted at its revision if it names this process (no other process
// writes a key that names another). It is best effort: a key left behind
// runs out.
func (e *election) release(ctx context.Context, l lease) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.tick)
	defer cancel()
	if l.held && e.kv.Delete(ctx, e.opts.Key, jetstream.LastRevision(l.revision)) == nil {
		return
	}
	entry, err := e.kv.Get(ctx, e.opts.Key)
	if err != nil || string(entry.Value()) != e.opts.Holder {
		return
	}
	_ = e.kv.Delete(ctx, e.opts.Key, jetstream.LastRevision(entry.Revision()))
}

// wait returns after d, or false as soon as ctx ends.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
