package es_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"ironstar/es"
	"ironstar/es/memstore"
	"ironstar/internal/logbuf"
)

// storage is the app's es.Storage over memory, with the default interval
// unless every is set.
func storage(store es.Store, every int) (es.Storage, *memstore.Snapshots) {
	snaps := memstore.NewSnapshots()
	return es.Storage{Store: store, Snapshots: snaps, Registry: registry(), SnapshotEvery: every}, snaps
}

// snapshotted is a handler of accounts over store, snapshotted in memory
// every `every` events (the default if 0), with its Storage and snapshot
// store, after acct was opened and given n deposits.
func snapshotted(t *testing.T, store es.Store, every, n int) (*es.Handler[account, command, event], es.Storage, *memstore.Snapshots) {
	t.Helper()
	st, snaps := storage(store, every)
	h := es.NewHandler(st, decider(), 1)
	deposits(t, h, n)
	return h, st, snaps
}

// deposits opens acct and then deposits 1 with the command IDs d0, d1, …
func deposits(t *testing.T, h *es.Handler[account, command, event], n int) {
	t.Helper()
	if _, err := h.Handle(t.Context(), acct, open{}, meta("open")); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := h.Handle(t.Context(), acct, deposit{Amount: 1}, meta(fmt.Sprintf("d%d", i))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewHandlerSnapshotsWithoutOptingIn(t *testing.T) {
	t.Parallel()
	store := &countingStore{Store: memstore.New()}
	_, st, snaps := snapshotted(t, store, 0, 149) // 150 events: a snapshot at the 100th (DefaultSnapshotEvery)
	snap, ok, _ := snaps.LoadSnapshot(t.Context(), acct)
	if !ok || snap.Version != es.DefaultSnapshotEvery || snap.Schema != 1 {
		t.Fatalf("snapshot = %+v, %v; want one at version %d, schema 1", snap, ok, es.DefaultSnapshotEvery)
	}
	if len(snap.Commands) != es.RecentCommands || snap.Commands[0] != "open" || snap.Commands[99] != "d98" {
		t.Errorf("snapshot remembers %d commands %v…%v; want the 100 up to d98", len(snap.Commands), snap.Commands[:1], snap.Commands[len(snap.Commands)-1:])
	}
	// Another process (the handler that wrote them remembers the aggregate
	// and reads nothing).
	res, err := es.NewHandler(st, decider(), 1).Handle(t.Context(), acct, deposit{Amount: 1}, meta("next"))
	if err != nil || res.State.Balance != 150 || res.Version != 151 {
		t.Fatalf("next = %+v, %v; want balance 150 at version 151", res, err)
	}
	if store.lastLoad != 50 {
		t.Errorf("loaded %d events, want the 50 since the snapshot", store.lastLoad)
	}
}

func TestADuplicateCommandIsRecognisedAcrossSnapshots(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	h, st, snaps := snapshotted(t, store, 10, 149)
	ctx := t.Context()
	if snap, _, _ := snaps.LoadSnapshot(ctx, acct); snap.Version != 150 {
		t.Fatalf("snapshot at %d, want 150", snap.Version)
	}

	// d60 is remembered by the snapshot; d140 is after the one before.
	for _, id := range []string{"d60", "d140", "d148"} {
		res, err := h.Handle(ctx, acct, deposit{Amount: 1}, meta(id))
		if err != nil || !res.Duplicate || res.Version != 150 || res.State.Balance != 149 {
			t.Errorf("retry of %s = %+v, %v; want a duplicate at version 150, balance 149", id, res, err)
		}
	}

	// d2 is older than the snapshot remembers: the store still knows its
	// event, and the handler must take its old acknowledgement for what it
	// is, not fold the deposit in twice.
	res, err := h.Handle(ctx, acct, deposit{Amount: 1}, meta("d2"))
	if err != nil || !res.Duplicate || res.Version != 150 || res.State.Balance != 149 {
		t.Errorf("retry of d2 = %+v, %v; want a duplicate at version 150, balance 149", res, err)
	}
	if events, _, _ := store.Load(ctx, acct, 0); len(events) != 150 {
		t.Errorf("stored %d events, want 150", len(events))
	}
	// The next snapshot, ten commands on, holds the true balance.
	for i := range 10 {
		if _, err := h.Handle(ctx, acct, deposit{Amount: 1}, meta(fmt.Sprintf("e%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	fresh := es.NewHandler(st, decider(), 1) // another process: only the stores in common
	res, err = fresh.Handle(ctx, acct, deposit{Amount: 1}, meta("last"))
	if err != nil || res.State.Balance != 160 || res.Version != 161 {
		t.Errorf("after the retries = %+v, %v; want balance 160 at version 161", res, err)
	}
}

func TestASnapshotAheadOfTheEventsIsReplaced(t *testing.T) {
	t.Parallel()
	_, st, snaps := snapshotted(t, memstore.New(), 10, 3)
	// As if the events had been restored from a backup older than the
	// snapshot bucket, and the app started again.
	snaps.SaveSnapshot(t.Context(), acct, es.Snapshot{Version: 1000, Schema: 1, State: []byte(`{"Open":true,"Balance":999}`)})
	h := es.NewHandler(st, decider(), 1)
	h.MaxAttempts = 3
	res, err := h.Handle(t.Context(), acct, deposit{Amount: 1}, meta("after-restore"))
	if err != nil || res.State.Balance != 4 || res.Version != 5 {
		t.Fatalf("Handle over a snapshot ahead = %+v, %v; want balance 4 at version 5", res, err)
	}
	if snap, _, _ := snaps.LoadSnapshot(t.Context(), acct); snap.Version != 5 {
		t.Errorf("snapshot at %d, want it replaced at 5", snap.Version)
	}
}

// depositTwice deposits its amount in two events (one command, a batch).
type depositTwice struct{ Amount int }

func (depositTwice) isCommand() {}

// A command of several events is remembered once in a snapshot.
func TestASnapshotRemembersEachCommandOnce(t *testing.T) {
	t.Parallel()
	st, snaps := storage(memstore.New(), 4)
	d := decider()
	decide := d.Decide
	d.Decide = func(s account, c command) ([]event, error) {
		if c, ok := c.(depositTwice); ok {
			return []event{deposited{Amount: c.Amount}, deposited{Amount: c.Amount}}, nil
		}
		return decide(s, c)
	}
	h := es.NewHandler(st, d, 1)
	if _, err := h.Handle(context.Background(), acct, open{}, meta("open")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(context.Background(), acct, depositTwice{Amount: 2}, meta("pair")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(context.Background(), acct, deposit{Amount: 1}, meta("one")); err != nil {
		t.Fatal(err)
	}
	snap, ok, _ := snaps.LoadSnapshot(context.Background(), acct)
	if !ok || fmt.Sprint(snap.Commands) != "[open pair one]" {
		t.Errorf("snapshot = %+v, %v; want one at version 4 remembering [open pair one]", snap, ok)
	}
}

// failingSnapshots is a snapshot store in memory whose loads or saves fail
// with the errors set.
type failingSnapshots struct {
	*memstore.Snapshots
	loadErr, saveErr error
}

func (s *failingSnapshots) LoadSnapshot(ctx context.Context, stream es.StreamID) (es.Snapshot, bool, error) {
	if s.loadErr != nil {
		return es.Snapshot{}, false, s.loadErr
	}
	return s.Snapshots.LoadSnapshot(ctx, stream)
}

func (s *failingSnapshots) SaveSnapshot(ctx context.Context, stream es.StreamID, snap es.Snapshot) error {
	if s.saveErr != nil {
		return s.saveErr
	}
	return s.Snapshots.SaveSnapshot(ctx, stream, snap)
}

// loggedStorage is storage over snaps that logs to the returned buffer.
func loggedStorage(snaps es.SnapshotStore, every int) (es.Storage, *logbuf.Buffer) {
	st, _ := storage(memstore.New(), every)
	logs := &logbuf.Buffer{}
	st.Snapshots, st.Logger = snaps, slog.New(slog.NewTextHandler(logs, nil))
	return st, logs
}

// A snapshot is a shortcut: failing to save, load or decode one does not
// fail the command, but is logged, since nothing else would tell.
func TestASnapshotThatFailsIsLoggedAndTheCommandsGoOn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// spoil breaks the snapshot store after its first snapshot.
		spoil func(*failingSnapshots)
		want  string
	}{
		{"a save that fails", func(s *failingSnapshots) { s.saveErr = errors.New("bucket gone") }, "snapshot save failed"},
		{"a load that fails", func(s *failingSnapshots) { s.loadErr = errors.New("bucket gone") }, "snapshot load failed"},
		{"a snapshot that does not decode", func(s *failingSnapshots) {
			s.Snapshots.SaveSnapshot(context.Background(), acct, es.Snapshot{Version: 5, Schema: 1, State: []byte(`{"Balance":"x"}`)})
		}, "snapshot does not decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			snaps := &failingSnapshots{Snapshots: memstore.NewSnapshots()}
			st, logs := loggedStorage(snaps, 5)
			deposits(t, es.NewHandler(st, decider(), 1), 4) // a snapshot at 5
			tc.spoil(snaps)
			// Five more, by another process (which reads the snapshot): a
			// full interval, so a snapshot is due again.
			h := es.NewHandler(st, decider(), 1)
			for i := range 5 {
				res, err := h.Handle(t.Context(), acct, deposit{Amount: 1}, meta(fmt.Sprint("more", i)))
				if want := 5 + i; err != nil || res.State.Balance != want || res.Version != uint64(want+1) {
					t.Fatalf("command %d over %s = %+v, %v; want balance %d at version %d", i, tc.name, res, err, want, want+1)
				}
			}
			if got := logs.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, tc.want) || !strings.Contains(got, "aggregate="+acct.String()) {
				t.Errorf("logs = %q; want a warning %q naming the aggregate", got, tc.want)
			}
		})
	}
}
