// Package ensure opens the JetStream streams, KV buckets and consumers the
// app needs, creating the missing ones. Several app instances may start at
// the same moment on a cluster that is still electing leaders: every step is
// retried while the failure is transient (timeouts, no leader yet, a racing
// instance creating the same thing), within the caller's deadline or a
// minute. An existing resource whose replicas or storage differ from what
// the app asks for is never changed behind the operator's back: the error
// says so and names the command that migrates it.
package ensure

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats/jetstreamx"
)

// Timing of the retries.
const (
	// Overall bounds every retry loop when ctx has no deadline.
	Overall = time.Minute
	// attemptTimeout bounds one attempt, so that a request lost during a
	// leader election is asked again rather than waited on.
	attemptTimeout = 5 * time.Second
)

// ErrSettings means a resource exists with settings the app cannot use.
var ErrSettings = errors.New("exists with other settings")

// errRaced means another instance created the resource between our look
// and our create: look again.
var errRaced = errors.New("created concurrently")

// Stream opens the stream named by want, creating it if it does not exist.
// An existing stream is checked with compatible, which lists the settings
// that differ in a way the caller depends on.
func Stream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig, compatible func(have jetstream.StreamConfig) []string) (jetstream.Stream, error) {
	return Retry(ctx, "stream "+want.Name, func(ctx context.Context) (jetstream.Stream, error) {
		stream, err := js.Stream(ctx, want.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			stream, err = js.CreateStream(ctx, want)
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				return nil, errRaced
			}
			return stream, err
		}
		if err != nil {
			return nil, err
		}
		have := stream.CachedInfo().Config
		diffs := compatible(have)
		if have.Replicas != want.Replicas {
			diffs = append(diffs, fmt.Sprintf("replicas %d (want %d)", have.Replicas, want.Replicas))
		}
		if len(diffs) > 0 {
			return nil, settingsError("stream "+want.Name, want.Name, diffs, want.Replicas)
		}
		return stream, nil
	})
}

// KeyValue opens the bucket, creating it if it does not exist. On an
// existing bucket, replicas and storage must match; the settings the app
// owns (TTL, history, description) are brought up to date.
func KeyValue(ctx context.Context, js jetstream.JetStream, want jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	want.Replicas = max(want.Replicas, 1)
	want.History = max(want.History, 1)
	return Retry(ctx, "bucket "+want.Bucket, func(ctx context.Context) (jetstream.KeyValue, error) {
		kv, err := js.KeyValue(ctx, want.Bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			kv, err = js.CreateKeyValue(ctx, want)
			if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				return nil, errRaced
			}
			return kv, err
		}
		if err != nil {
			return nil, err
		}
		status, err := kv.Status(ctx)
		if err != nil {
			return nil, err
		}
		bucket, ok := status.(*jetstream.KeyValueBucketStatus)
		if !ok {
			return kv, nil // another implementation: nothing to compare
		}
		have := bucket.StreamInfo().Config
		var diffs []string
		if have.Replicas != want.Replicas {
			diffs = append(diffs, fmt.Sprintf("replicas %d (want %d)", have.Replicas, want.Replicas))
		}
		if have.Storage != want.Storage {
			diffs = append(diffs, fmt.Sprintf("storage %v (want %v)", have.Storage, want.Storage))
		}
		if len(diffs) > 0 {
			return nil, settingsError("bucket "+want.Bucket, "KV_"+want.Bucket, diffs, want.Replicas)
		}
		if have.MaxAge != want.TTL || have.MaxMsgsPerSubject != int64(want.History) || have.Description != want.Description {
			return js.UpdateKeyValue(ctx, want)
		}
		return kv, nil
	})
}

// Consumer creates or updates a durable consumer. A single subject in
// FilterSubjects goes in FilterSubject: the server answers an update that
// sets FilterSubjects to one subject with FilterSubject, which nats.go then
// takes for a server without multiple filters (and refuses).
func Consumer(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	if len(cfg.FilterSubjects) == 1 && cfg.FilterSubject == "" {
		cfg.FilterSubject, cfg.FilterSubjects = cfg.FilterSubjects[0], nil
	}
	return Retry(ctx, "consumer "+cfg.Durable, func(ctx context.Context) (jetstream.Consumer, error) {
		return js.CreateOrUpdateConsumer(ctx, stream, cfg)
	})
}

func settingsError(what, stream string, diffs []string, replicas int) error {
	fix := fmt.Sprintf("`nats stream edit %s`", stream)
	for _, d := range diffs {
		if strings.HasPrefix(d, "replicas") {
			fix = fmt.Sprintf("`nats stream edit %s --replicas %d` (JetStream copies the data; nothing is lost) or set NATS_REPLICAS to match", stream, replicas)
		}
	}
	return fmt.Errorf("%s %w: %s; the app changes none of them itself: migrate with %s", what, ErrSettings, strings.Join(diffs, ", "), fix)
}

// Retry runs attempt until it succeeds, fails for good, or time is up
// (ctx's deadline, or Overall). Each attempt gets at most five seconds.
func Retry[T any](ctx context.Context, what string, attempt func(context.Context) (T, error)) (T, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, Overall)
		defer cancel()
	}
	backoff := 50 * time.Millisecond
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, attemptTimeout)
		v, err := attempt(attemptCtx)
		cancel()
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, errRaced) && !jetstreamx.Transient(err) {
			return v, fmt.Errorf("%s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			var api *jetstream.APIError
			if errors.As(err, &api) && api.ErrorCode == jetstreamx.ErrCodeNoPeers {
				return v, fmt.Errorf("%s: %w (are there as many JetStream servers as NATS_REPLICAS?)", what, err)
			}
			return v, fmt.Errorf("%s: still failing when time ran out: %w", what, err)
		case <-time.After(backoff/2 + rand.N(backoff)):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}
