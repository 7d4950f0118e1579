package es_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ironstar/es"
	"ironstar/es/estest"
	"ironstar/es/memstore"
	"ironstar/internal/logbuf"
)

// A small account aggregate to exercise the kernel.
type (
	account struct {
		Open    bool
		Balance int
	}
	command interface{ isCommand() }
	open    struct{}
	deposit struct{ Amount int }
	event   interface{ isEvent() }
	opened  struct{}
	// deposited is at schema version 2: version 1 called the field "amt".
	deposited struct{ Amount int }
)

func (open) isCommand()    {}
func (deposit) isCommand() {}
func (opened) isEvent()    {}
func (deposited) isEvent() {}

var (
	errNotOpen     = errors.New("account not open")
	errNonPositive = errors.New("amount must be positive")
)

func decider() es.Decider[account, command, event] {
	return es.Decider[account, command, event]{
		Decide: func(s account, c command) ([]event, error) {
			switch c := c.(type) {
			case open:
				if s.Open {
					return nil, nil // opening twice is a no-op
				}
				return []event{opened{}}, nil
			case deposit:
				if !s.Open {
					return nil, errNotOpen
				}
				if c.Amount <= 0 {
					return nil, errNonPositive
				}
				return []event{deposited{Amount: c.Amount}}, nil
			}
			return nil, fmt.Errorf("unknown command %T", c)
		},
		Evolve: func(s account, e event) account {
			switch e := e.(type) {
			case opened:
				s.Open = true
			case deposited:
				s.Balance += e.Amount
			}
			return s
		},
	}
}

func registry() *es.Registry {
	r := es.NewRegistry()
	es.Register[opened](r, "account.opened", 1)
	es.Register[deposited](r, "account.deposited", 2)
	r.Upcast("account.deposited", 1, func(old json.RawMessage) (json.RawMessage, error) {
		var v1 struct{ Amt int }
		if err := json.Unmarshal(old, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(deposited{Amount: v1.Amt})
	})
	return r
}

func TestDecider(t *testing.T) {
	estest.Run(t, decider(), []estest.Case[account, command, event]{
		{Name: "opening a new account", When: open{}, Then: []event{opened{}}},
		{Name: "opening an open account changes nothing", Given: []event{opened{}}, When: open{}},
		{Name: "depositing into an open account", Given: []event{opened{}}, When: deposit{Amount: 5}, Then: []event{deposited{Amount: 5}}},
		{Name: "depositing before opening is refused", When: deposit{Amount: 5}, Err: errNotOpen},
		{Name: "a zero deposit is refused", Given: []event{opened{}}, When: deposit{}, Err: errNonPositive},
	})
}

func TestRegistryUpcastsOldPayloads(t *testing.T) {
	t.Parallel()
	r := registry()
	got, err := r.Decode(es.Envelope{Type: "account.deposited", Version: 1, Data: json.RawMessage(`{"amt":7}`)})
	if err != nil || got != (deposited{Amount: 7}) {
		t.Fatalf("Decode(v1) = %#v, %v; want deposited{7}", got, err)
	}
	name, version, data, err := r.Encode(deposited{Amount: 3})
	if err != nil || name != "account.deposited" || version != 2 || string(data) != `{"Amount":3}` {
		t.Errorf("Encode = %s v%d %s %v", name, version, data, err)
	}
	for _, bad := range []es.Envelope{
		{Type: "account.closed", Version: 1, Data: json.RawMessage(`{}`)},
		{Type: "account.deposited", Version: 3, Data: json.RawMessage(`{}`)},
		{Type: "account.deposited", Version: 0, Data: json.RawMessage(`{}`)},
	} {
		if _, err := r.Decode(bad); !errors.Is(err, es.ErrUnknownEventType) {
			t.Errorf("Decode(%s v%d) = %v, want ErrUnknownEventType", bad.Type, bad.Version, err)
		}
	}
	if _, _, _, err := r.Encode(struct{ X int }{}); !errors.Is(err, es.ErrUnknownEventType) {
		t.Errorf("Encode(unregistered) = %v, want ErrUnknownEventType", err)
	}
	if _, err := r.Decode(es.Envelope{Type: "account.deposited", Version: 2, Data: json.RawMessage(`{"Amount":"x"}`)}); err == nil {
		t.Error("Decode of a malformed payload succeeded")
	}
}

func TestRegistryRefusesDuplicates(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("registering a name twice did not panic")
		}
	}()
	r := registry()
	es.Register[struct{ Y int }](r, "account.opened", 1)
}

func handler(store es.Store) *es.Handler[account, command, event] {
	return &es.Handler[account, command, event]{Store: store, Registry: registry(), Decider: decider()}
}

var acct = es.StreamID{Aggregate: "account", ID: "a1"}

func meta(id string) es.Metadata {
	return es.Metadata{CommandID: id, OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func TestHandleAppendsAndFolds(t *testing.T) {
	t.Parallel()
	h := handler(memstore.New())
	ctx := context.Background()
	if _, err := h.Handle(ctx, acct, open{}, meta("c1")); err != nil {
		t.Fatal(err)
	}
	res, err := h.Handle(ctx, acct, deposit{Amount: 4}, meta("c2"))
	if err != nil {
		t.Fatal(err)
	}
	if res.State != (account{Open: true, Balance: 4}) || res.Version != 2 || len(res.Events) != 1 || res.Events[0].ID != "account.a1.c2.0" {
		t.Errorf("result = %+v", res)
	}
	if _, err := h.Handle(ctx, acct, deposit{Amount: -1}, meta("c3")); !errors.Is(err, errNonPositive) {
		t.Errorf("a refused command = %v, want the decider's error", err)
	}
	if _, err := h.Handle(ctx, acct, deposit{Amount: 1}, es.Metadata{}); !errors.Is(err, es.ErrMissingCommandID) {
		t.Errorf("no command ID = %v, want ErrMissingCommandID", err)
	}
	if _, err := h.Handle(ctx, es.StreamID{Aggregate: "account", ID: "a.b"}, open{}, meta("c4")); !errors.Is(err, es.ErrInvalidStreamID) {
		t.Errorf("bad stream = %v, want ErrInvalidStreamID", err)
	}
}

func TestHandleStoresACommandIDOnce(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	h := handler(store)
	ctx := context.Background()
	h.Handle(ctx, acct, open{}, meta("open"))
	first, err := h.Handle(ctx, acct, deposit{Amount: 10}, meta("pay"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.Handle(ctx, acct, deposit{Amount: 10}, meta("pay"))
	if err != nil || !again.Duplicate || again.Version != first.Version || again.State.Balance != 10 {
		t.Fatalf("the same command again = %+v, %v; want a duplicate at version %d", again, err, first.Version)
	}
	if events, _, _ := store.Load(ctx, acct, 0); len(events) != 2 {
		t.Errorf("stored %d events, want 2", len(events))
	}
}

// racingStore lets another writer append between a Handle's load and its
// append, the first `races` times.
type racingStore struct {
	*memstore.Store
	mu    sync.Mutex
	races int
	n     int
}

func (s *racingStore) Append(ctx context.Context, stream es.StreamID, expected uint64, events []es.Envelope) (uint64, error) {
	s.mu.Lock()
	if s.races > 0 {
		s.races--
		s.n++
		_, version, _ := s.Store.Load(ctx, stream, 0)
		e := es.Envelope{ID: fmt.Sprintf("rival-%d", s.n), Type: "account.deposited", Version: 2, Data: json.RawMessage(`{"Amount":100}`), Meta: meta(fmt.Sprintf("rival-%d", s.n))}
		s.Store.Append(ctx, stream, version, []es.Envelope{e})
	}
	s.mu.Unlock()
	return s.Store.Append(ctx, stream, expected, events)
}

func TestHandleRetriesOnConflict(t *testing.T) {
	t.Parallel()
	store := &racingStore{Store: memstore.New()}
	h := handler(store)
	ctx := context.Background()
	h.Handle(ctx, acct, open{}, meta("open"))
	store.races = 3
	res, err := h.Handle(ctx, acct, deposit{Amount: 1}, meta("mine"))
	if err != nil {
		t.Fatalf("Handle with 3 rivals: %v", err)
	}
	if res.State.Balance != 301 {
		t.Errorf("balance = %d, want 301: the decision must be made on the reloaded state", res.State.Balance)
	}

	store.races = 100
	h.MaxAttempts = 3
	_, err = h.Handle(ctx, acct, deposit{Amount: 1}, meta("starved"))
	if !errors.Is(err, es.ErrConcurrency) {
		t.Errorf("Handle that always loses = %v, want ErrConcurrency after MaxAttempts", err)
	}
	if store.races != 97 {
		t.Errorf("made %d attempts, want 3", 100-store.races)
	}
}

// An event of the aggregate's own history that this build cannot read
// stops every command on it, loudly: skipping it would decide on a wrong
// state. The error names the aggregate and sequence, and so does the log.
func TestAnEventThatDoesNotDecodeStopsTheAggregateAndIsLogged(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		bad  es.Envelope
		want error
	}{
		{"another aggregate's type", es.Envelope{Type: "todo.added", Version: 1, Data: json.RawMessage(`{}`)}, es.ErrUnknownEventType},
		{"a type no longer registered", es.Envelope{Type: "account.frozen", Version: 1, Data: json.RawMessage(`{}`)}, es.ErrUnknownEventType},
		{"data that does not decode", es.Envelope{Type: "account.deposited", Version: 2, Data: json.RawMessage(`{"Amount":"x"}`)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := memstore.New()
			ctx := t.Context()
			h := handler(store)
			logs := &logbuf.Buffer{}
			h.Logger = slog.New(slog.NewTextHandler(logs, nil))
			if _, err := h.Handle(ctx, acct, open{}, meta("open")); err != nil {
				t.Fatal(err)
			}
			tc.bad.ID = "bad"
			seq, err := store.Append(ctx, acct, 1, []es.Envelope{tc.bad})
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.Handle(ctx, acct, deposit{Amount: 1}, meta("c"))
			if !errors.Is(err, es.ErrUndecodable) || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.bad.Type) {
				t.Errorf("Handle over %s = %v, want ErrUndecodable (and %v) naming %s", tc.name, err, tc.want, tc.bad.Type)
			}
			got := logs.String()
			if !strings.Contains(got, "level=ERROR") || !strings.Contains(got, "aggregate="+acct.String()) || !strings.Contains(got, fmt.Sprintf("seq=%d", seq)) {
				t.Errorf("logs = %q; want an error naming the aggregate and sequence %d", got, seq)
			}
			if events, _, _ := store.Load(ctx, acct, 0); len(events) != 2 {
				t.Errorf("the aggregate holds %d events, want the 2 stored before: nothing decided", len(events))
			}
		})
	}
}

// countingStore records how many events each Load returned.
type countingStore struct {
	*memstore.Store
	lastLoad int
}

func (s *countingStore) Load(ctx context.Context, stream es.StreamID, after uint64) ([]es.Envelope, uint64, error) {
	events, v, err := s.Store.Load(ctx, stream, after)
	s.lastLoad = len(events)
	return events, v, err
}

func TestSnapshotsShortenLoads(t *testing.T) {
	t.Parallel()
	store := &countingStore{Store: memstore.New()}
	snaps := memstore.NewSnapshots()
	h := handler(store)
	h.Snapshots, h.SnapshotEvery, h.SnapshotSchema = snaps, 10, 1
	ctx := context.Background()
	h.Handle(ctx, acct, open{}, meta("open"))
	for i := range 25 {
		if _, err := h.Handle(ctx, acct, deposit{Amount: 1}, meta(fmt.Sprintf("d%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	snap, ok, _ := snaps.LoadSnapshot(ctx, acct)
	if !ok || snap.Version != 20 {
		t.Fatalf("snapshot = %+v, %v; want one at version 20", snap, ok)
	}
	res, err := h.Handle(ctx, acct, deposit{Amount: 1}, meta("last"))
	if err != nil || res.State.Balance != 26 || res.Version != 27 {
		t.Fatalf("after snapshots: %+v, %v; want balance 26 at version 27", res, err)
	}
	if store.lastLoad != 6 {
		t.Errorf("loaded %d events, want the 6 since the snapshot", store.lastLoad)
	}

	// A command from before the snapshot, retried, is still a duplicate.
	again, err := h.Handle(ctx, acct, deposit{Amount: 1}, meta("d3"))
	if err != nil || !again.Duplicate {
		t.Errorf("retry of d3 = %+v, %v; want a duplicate", again, err)
	}

	// A new state schema ignores the old snapshot and folds everything.
	h.SnapshotSchema = 2
	res, err = h.Handle(ctx, acct, deposit{Amount: 1}, meta("schema2"))
	if err != nil || res.State.Balance != 27 || store.lastLoad != 27 {
		t.Errorf("with schema 2: balance %d after loading %d events, %v; want 27 and all 27", res.State.Balance, store.lastLoad, err)
	}
}

func TestHandleQueuesWritersOfOneAggregate(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	h := handler(store)
	h.MaxAttempts = 1 // a conflict would fail: the queue must prevent them
	ctx := context.Background()
	h.Handle(ctx, acct, open{}, meta("open"))
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.Handle(ctx, acct, deposit{Amount: 1}, meta(fmt.Sprintf("d%d", i))); err != nil {
				t.Errorf("deposit %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	res, _ := h.Handle(ctx, acct, deposit{Amount: 1}, meta("last"))
	if res.State.Balance != 101 {
		t.Errorf("balance = %d, want 101", res.State.Balance)
	}
}

// outcomes records what a Handler's Observer is told.
type outcomes struct {
	mu   sync.Mutex
	seen []es.Outcome
}

func (o *outcomes) CommandHandled(_ context.Context, aggregate string, outcome es.Outcome, took time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if aggregate == acct.Aggregate && took > 0 {
		o.seen = append(o.seen, outcome)
	}
}

func TestTheObserverIsToldHowEachCommandEnded(t *testing.T) {
	t.Parallel()
	store := &racingStore{Store: memstore.New()}
	h := handler(store)
	seen := &outcomes{}
	h.Observer = seen
	ctx := context.Background()
	h.Handle(ctx, acct, open{}, meta("open"))
	h.Handle(ctx, acct, open{}, meta("open-again"))
	h.Handle(ctx, acct, deposit{Amount: 1}, meta("pay"))
	h.Handle(ctx, acct, deposit{Amount: 1}, meta("pay"))
	h.Handle(ctx, acct, deposit{Amount: -1}, meta("negative"))
	store.races = 1
	h.Handle(ctx, acct, deposit{Amount: 1}, meta("raced"))
	store.races = 100
	h.MaxAttempts = 2
	h.Handle(ctx, acct, deposit{Amount: 1}, meta("starved"))

	want := []es.Outcome{es.Stored, es.Unchanged, es.Stored, es.Duplicate, es.Rejected, es.ConflictRetried, es.Failed}
	if !slices.Equal(seen.seen, want) {
		t.Errorf("outcomes = %v, want %v", seen.seen, want)
	}
}
