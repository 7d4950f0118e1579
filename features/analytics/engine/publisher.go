package engine

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"ironstar/features/analytics/dashboard"
)

// Publisher recomputes the dashboard and hands it to the web instances:
// once when it starts, then after new events (coalesced: at most every
// MinInterval) or when TTL has passed (the time window moves on). Only
// the active engine publishes (see Run).
type Publisher struct {
	compute     func(context.Context, time.Time) (dashboard.Dashboard, error)
	publish     func(context.Context, []byte) error
	logger      *slog.Logger
	changed     chan struct{}
	MinInterval time.Duration
	TTL         time.Duration
}

// NewPublisher returns a publisher of store's dashboard through publish.
func NewPublisher(store *Store, publish func(context.Context, []byte) error, logger *slog.Logger) *Publisher {
	return &Publisher{compute: store.Dashboard, publish: publish, logger: logger, changed: make(chan struct{}, 1), MinInterval: 500 * time.Millisecond, TTL: 10 * time.Second}
}

// Notify says new events were stored. It never blocks.
func (p *Publisher) Notify() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends.
func (p *Publisher) Run(ctx context.Context) {
	ttl := time.NewTimer(0)
	defer ttl.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.changed:
		case <-ttl.C:
		}
		if err := p.once(ctx); err != nil && ctx.Err() == nil {
			p.logger.Error("analytics: dashboard", "err", err)
		}
		ttl.Reset(p.TTL)
		// Coalesce: events arriving meanwhile make one refresh, later.
		select {
		case <-ctx.Done():
			return
		case <-time.After(p.MinInterval):
		}
	}
}

// once computes and publishes one dashboard.
func (p *Publisher) once(ctx context.Context) error {
	d, err := p.compute(ctx, time.Now())
	if err != nil {
		return err
	}
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return p.publish(ctx, data)
}
