//ironstar:needs todo

// Command seed fills the event store with todo history, fast and the same
// every time, for measuring a start over a large store:
//
//	DATA_DIR=/tmp/big go run ./cmd/seed -events 1000000 -lists 20000
//
// It writes into DATA_DIR's embedded JetStream (or NATS_URL's, read from the
// environment and .env like the app) real todo events: commands decided by
// the todo domain on each list's state, encoded by the event registry and
// stored in the event store's format (eventstore.Store.Import). The lists
// take turns, so consecutive events belong to different lists, as under
// many users; their times spread over the 30 days before -until.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"time"

	"ironstar/config"
	"ironstar/es"
	"ironstar/features/todo"
	"ironstar/nats/broker"
	"ironstar/nats/eventstore"
)

// chunk is how many events are generated, then imported, at a time.
const chunk = 20_000

func main() {
	events := flag.Int("events", 1_000_000, "how many events to store")
	lists := flag.Int("lists", 20_000, "over how many todo lists")
	seed := flag.Uint64("seed", 1, "random seed: the same seed stores the same events")
	until := flag.String("until", "", "the time of the last event, RFC 3339 (now if empty)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *events, *lists, *seed, *until); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n, lists int, seed uint64, until string) error {
	if n < 1 || lists < 1 {
		return fmt.Errorf("-events and -lists must be at least 1")
	}
	end := time.Now().UTC()
	if until != "" {
		var err error
		if end, err = time.Parse(time.RFC3339, until); err != nil {
			return fmt.Errorf("-until: %w", err)
		}
	}
	cfg, err := config.FromEnv(".env")
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	nc, err := broker.Connect(ctx, broker.Options{URL: cfg.NATSURL, DataDir: cfg.DataDir, Port: cfg.NATSPort, Auth: broker.Auth(cfg.NATSAuth)}, logger)
	if err != nil {
		return err
	}
	defer nc.Close(context.Background())
	store, err := eventstore.New(ctx, nc.JS, eventstore.Config{Replicas: cfg.Replicas, MaxBytes: cfg.Quotas.EventsMaxBytes})
	if err != nil {
		return err
	}

	registry := es.NewRegistry()
	todo.Register(registry)
	h := newHistory(lists, seed, end.Add(-30*24*time.Hour), end, n)
	started := time.Now()
	var last uint64
	for done := 0; done < n; {
		batch, err := h.next(registry, min(chunk, n-done))
		if err != nil {
			return err
		}
		if last, err = store.Import(ctx, batch); err != nil {
			return err
		}
		done += len(batch)
		if done%200_000 < chunk || done == n {
			logger.Info("seeded", "events", done, "of", n, "last_seq", last, "elapsed", time.Since(started).Round(time.Millisecond))
		}
	}
	return nil
}

// history generates the events of many lists, taking turns.
type history struct {
	rng         *rand.Rand
	lists       []todo.List
	added       []int // per list, how many todos were ever added
	turn        int
	from        time.Time
	step        time.Duration
	occurred    int
	sessions    []string
	idPrefix    string
	nextEventID int
}

func newHistory(lists int, seed uint64, from, until time.Time, n int) *history {
	h := &history{
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		lists: make([]todo.List, lists), added: make([]int, lists),
		from: from, step: until.Sub(from) / time.Duration(n),
		idPrefix: fmt.Sprintf("seed%d-", seed),
	}
	for i := range 500 {
		h.sessions = append(h.sessions, fmt.Sprintf("seed-session-%d", i))
	}
	return h
}

// next returns the next n events.
func (h *history) next(reg *es.Registry, n int) ([]es.Envelope, error) {
	out := make([]es.Envelope, 0, n)
	for len(out) < n {
		i := h.turn % len(h.lists)
		h.turn++
		events, err := todo.Decide(h.lists[i], h.command(i))
		if err != nil {
			return nil, fmt.Errorf("list %d: %w", i, err)
		}
		for _, e := range events {
			h.lists[i] = todo.Evolve(h.lists[i], e)
			name, version, data, err := reg.Encode(e)
			if err != nil {
				return nil, err
			}
			h.nextEventID++
			out = append(out, es.Envelope{
				ID:      fmt.Sprintf("%s%d", h.idPrefix, h.nextEventID),
				Stream:  es.StreamID{Aggregate: "todo", ID: fmt.Sprintf("seed-list-%d", i)},
				Type:    name,
				Version: version,
				Data:    data,
				Meta: es.Metadata{
					CommandID:  fmt.Sprintf("%scmd-%d", h.idPrefix, h.turn),
					Session:    h.sessions[i%len(h.sessions)],
					OccurredAt: h.from.Add(time.Duration(h.occurred) * h.step),
				},
			})
			h.occurred++
		}
	}
	return out, nil
}

// command picks what the user of list i does next: mostly adding, then
// completing, renaming and deleting the todos there are, as a list's
// owner would; a list stays below a few dozen todos.
func (h *history) command(i int) todo.Command {
	l := h.lists[i]
	r := h.rng.Float64()
	if len(l.Items) == 0 || (r < 0.5 && len(l.Items) < 40) {
		h.added[i]++
		return todo.Add{ID: fmt.Sprintf("t%d", h.added[i]), Text: fmt.Sprintf("todo %d of list %d", h.added[i], i)}
	}
	item := l.Items[h.rng.IntN(len(l.Items))]
	switch {
	case r < 0.75:
		return todo.SetCompleted{ID: item.ID, Completed: !item.Completed}
	case r < 0.9:
		return todo.Rename{ID: item.ID, Text: fmt.Sprintf("todo %s of list %d, edited at %d", item.ID, i, h.turn)}
	default:
		return todo.Delete{ID: item.ID}
	}
}
