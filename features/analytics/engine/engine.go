// Package engine is the analytics engine: a process of its own (cmd/analytics)
// that copies every event into DuckDB (store.go, copier.go), runs the
// dashboard's queries (queries.go) and publishes the result to NATS
// (publisher.go), where each web instance's analytics page follows it like
// any other read model. It is the only part of Ironstar that links DuckDB,
// through cgo; the web app stays pure Go.
//
// Several engines may run (one per host, say): each keeps its own DuckDB
// copy current, and only the one holding the lease (nats/leader) publishes.
// When it stops or dies, a standby takes the lease and publishes from its
// own copy, which is complete: a copy's checkpoint is its highest stored
// sequence, written in the same DuckDB transaction as the rows, so no
// event is counted twice or missed across a hand-over.
package engine

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"ironstar/features/analytics/dashboard"
	"ironstar/nats/ensure"
	"ironstar/nats/leader"
)

// Config is what an engine needs.
type Config struct {
	JS jetstream.JetStream
	// Events is where it reads the event stream.
	Events Follower
	// DataDir holds its DuckDB file (DataDir/analytics.duckdb).
	DataDir string
	// Replicas of the buckets it creates.
	Replicas int
	// Holder names this engine in the lease (unique: host and process).
	Holder string
	Logger *slog.Logger
	// Metrics, if set, gets the engine's metrics: its checkpoint, its lag
	// behind the stream, and whether it publishes.
	Metrics prometheus.Registerer
}

// Run runs the engine until ctx ends: the copy all along, the publisher
// while it holds the lease.
func Run(ctx context.Context, cfg Config) error {
	store, err := Open(ctx, filepath.Join(cfg.DataDir, "analytics.duckdb"))
	if err != nil {
		return err
	}
	defer store.Close()
	kv, err := openBucket(ctx, cfg.JS, cfg.Replicas)
	if err != nil {
		return err
	}
	publisher := NewPublisher(store, func(ctx context.Context, data []byte) error {
		_, err := kv.Put(ctx, dashboard.Key, data)
		return err
	}, cfg.Logger)

	var publishing atomic.Bool
	if cfg.Metrics != nil {
		if err := cfg.Metrics.Register(newCollector(store, cfg.Events, &publishing)); err != nil {
			return fmt.Errorf("analytics: metrics: %w", err)
		}
	}

	var copying sync.WaitGroup
	defer copying.Wait()
	copyCtx, stopCopy := context.WithCancel(context.Background())
	defer stopCopy()
	copying.Go(func() {
		Copier{Store: store, Events: cfg.Events, Changed: publisher.Notify, Logger: cfg.Logger}.Run(copyCtx)
	})

	err = leader.Run(ctx, cfg.JS, leader.Options{Bucket: dashboard.LeaderBucket, Key: dashboard.LeaderKey, Holder: cfg.Holder, Replicas: cfg.Replicas},
		func(ctx context.Context) {
			cfg.Logger.Info("analytics: this engine publishes the dashboard", "holder", cfg.Holder, "checkpoint", store.Checkpoint())
			publishing.Store(true)
			publisher.Run(ctx)
			publishing.Store(false)
			cfg.Logger.Info("analytics: this engine stopped publishing", "why", context.Cause(ctx))
		})
	// The copy stops last, flushing what it holds: the next start (or a
	// standby) resumes from its checkpoint.
	stopCopy()
	return err
}

// openBucket opens (creating it if needed) the KV bucket the dashboard is
// published in; web instances wait for it (jetstreamx.WatchValue). Engines
// started together race to create it: on a 3-node cluster both requests
// then often go unanswered, so it retries as the app does (nats/ensure).
func openBucket(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	kv, err := ensure.KeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: dashboard.Bucket, Description: "The analytics dashboard, as the engine last computed it", History: 1, Replicas: max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("analytics: %w", err)
	}
	return kv, nil
}
