package projection_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ironstar/internal/poll"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"ironstar/es"
	"ironstar/internal/logbuf"
	"ironstar/nats/broker"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
	"ironstar/nats/projection"
)

// bag counts a key's events; a "bloat" event pads it past what a KV value
// may hold.
type bag struct {
	Count int    `json:"count"`
	Pad   string `json:"pad,omitempty"`
}

// poisonProjection applies item events by type: "bloat" makes a value of
// 1.1 MB, "panic" panics (a bug in the fold), "fail" fails until fixed is
// set (a bug fixed by a new release), anything else counts.
func poisonProjection(fixed *atomic.Bool) projection.Projection[bag] {
	return projection.Projection[bag]{
		Name:     "poison",
		Subjects: []string{"events.item.>"},
		Keys:     func(env es.Envelope) []string { return []string{env.Stream.ID} },
		Apply: func(_ string, current bag, env es.Envelope) (bag, error) {
			switch env.Type {
			case "item.bloat":
				return bag{Count: current.Count + 1, Pad: strings.Repeat("x", 1_100_000)}, nil
			case "item.panic":
				panic("a bug in the fold")
			case "item.fail":
				if !fixed.Load() {
					return current, errors.New("cannot apply this yet")
				}
			}
			return bag{Count: current.Count + 1, Pad: current.Pad}, nil
		},
	}
}

// items appends events of a given type to item aggregates.
type items struct {
	t        *testing.T
	store    *eventstore.Store
	versions map[string]uint64
	n        int
}

func (w *items) add(id, typ string) uint64 {
	w.t.Helper()
	w.n++
	v, err := w.store.Append(context.Background(), es.StreamID{Aggregate: "item", ID: id}, w.versions[id],
		[]es.Envelope{{ID: "ev-" + id + "-" + typ + "-" + string(rune('a'+w.n)), Type: "item." + typ, Version: 1, Data: []byte(`{}`)}})
	if err != nil {
		w.t.Fatal(err)
	}
	w.versions[id] = v
	return v
}

func bagOf(t *testing.T, view *projection.View[bag], key string) projection.Entry[bag] {
	t.Helper()
	e, err := view.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return e
}

// seqOf is the sequence key's value is at, 0 if it has none yet.
func seqOf(t *testing.T, view *projection.View[bag], key string) uint64 {
	e, err := view.Get(t.Context(), key)
	if err != nil && !errors.Is(err, projection.ErrNotFound) {
		t.Fatalf("get %s: %v", key, err)
	}
	return e.Seq
}

func parkedSeqs(t *testing.T, r *projection.Runner[bag]) []uint64 {
	t.Helper()
	parked, err := r.Parked(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, p := range parked {
		seqs = append(seqs, p.Seq)
	}
	return seqs
}

// startPoison starts an embedded server with an event store and p's runner
// on it (stopped when the test ends), and returns the server, a writer of
// item events and the runner.
func startPoison(t *testing.T, p projection.Projection[bag], o projection.Options) (*broker.Conn, *items, *projection.Runner[bag]) {
	t.Helper()
	conn := natstest.Connect(t)
	store, err := eventstore.New(t.Context(), conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := projection.Start(t.Context(), conn.JS, p, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	return conn, &items{t: t, store: store, versions: map[string]uint64{}}, r
}

func TestAPoisonEventIsParkedAndEveryOtherKeyGoesOn(t *testing.T) {
	t.Parallel()
	logs := &logbuf.Buffer{}
	o := opts()
	o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	fixed := new(atomic.Bool)
	p := poisonProjection(fixed)
	conn, w, r := startPoison(t, p, o)
	// A second instance's runner, on standby: it must see the same state.
	_, js2, err := conn.NewClient("instance-b")
	if err != nil {
		t.Fatal(err)
	}
	standby, err := projection.Start(t.Context(), js2, p, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standby.Stop(context.Background()) })

	w.add("a", "ok")
	bloat := w.add("a", "bloat") // 1.1 MB: more than NATS takes
	w.add("b", "ok")
	boom := w.add("a", "panic")
	w.add("b", "ok")
	fail := w.add("c", "fail")
	last := w.add("b", "ok")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := r.Wait(ctx, last); err != nil {
		t.Fatalf("the events after the poison ones were not applied: %v", err)
	}

	view, err := projection.OpenView[bag](t.Context(), conn.JS, "poison")
	if err != nil {
		t.Fatal(err)
	}
	// The polls read what a page would.
	poll.Until(t, 10*time.Second, "b's events after the poison ones", func() bool { return seqOf(t, view, "b") == last })
	if got := bagOf(t, view, "b"); got.Value.Count != 3 {
		t.Errorf("b = %+v, want its 3 events", got)
	}
	if got := bagOf(t, view, "a"); got.Value.Count != 1 || got.Value.Pad != "" {
		t.Errorf("a = count %d, pad %d bytes; want its last good value: 1 event, no pad", got.Value.Count, len(got.Value.Pad))
	}

	parked, err := r.Parked(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		seq      uint64
		key, err string
	}{{bloat, "a", "too large"}, {boom, "a", "panic: a bug in the fold"}, {fail, "c", "cannot apply this yet"}}
	if len(parked) != len(want) {
		t.Fatalf("parked %+v, want %d events", parked, len(want))
	}
	for i, w := range want {
		if p := parked[i]; p.Seq != w.seq || p.Key != w.key || !strings.Contains(p.Error, w.err) || p.Projection != "poison" || p.Generation != 1 {
			t.Errorf("parked[%d] = %+v, want event %d on %q, error with %q", i, p, w.seq, w.key, w.err)
		}
	}
	for name, runner := range map[string]*projection.Runner[bag]{"active": r, "standby": standby} {
		if err := runner.Health(t.Context()); !errors.Is(err, projection.ErrDegraded) || !strings.Contains(err.Error(), "poison") {
			t.Errorf("%s runner's health = %v, want degraded, naming the projection", name, err)
		}
	}
	if n := logs.Count("parked an event"); n != 3 {
		t.Errorf("%d parked events logged, want 3 (each once)\n%s", n, logs.String())
	}

	// A later event for a recovers it, on its last good value.
	last = w.add("a", "ok")
	if err := r.Wait(ctx, last); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "a's later event", func() bool { return seqOf(t, view, "a") == last })
	if got := bagOf(t, view, "a"); got.Value.Count != 2 || got.Value.Pad != "" {
		t.Errorf("a = %+v after a later event, want 2 events on its last good value", got)
	}
	poll.Until(t, 10*time.Second, "a's parked events to heal", func() bool {
		seqs := parkedSeqs(t, r)
		return len(seqs) == 1 && seqs[0] == fail
	})
	if n := logs.Count("a later event healed a parked key"); n != 1 {
		t.Errorf("the runner healed %d keys, want 1 (a)", n)
	}

	// The fix is released and the projection rebuilt: nothing is parked.
	fixed.Store(true)
	if _, err := projection.Rebuild(t.Context(), conn.JS, p, opts()); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "the runner to follow the rebuild", func() bool { return r.Generation() == 2 })
	if seqs := parkedSeqs(t, r); len(seqs) != 0 {
		t.Errorf("parked after a rebuild: %v", seqs)
	}
	if err := r.Health(t.Context()); err != nil {
		t.Errorf("health after a rebuild: %v", err)
	}
	if got := bagOf(t, view, "c"); got.Value.Count != 1 {
		t.Errorf("c = %+v after the rebuild, want its event applied", got)
	}
	if got := bagOf(t, view, "a"); got.Value.Count != 2 {
		t.Errorf("a = %+v after the rebuild, want 2 events (bloat and panic still parked, and healed)", got)
	}
	if _, err := conn.JS.KeyValue(t.Context(), "proj_poison_1_parked"); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Errorf("the old generation's parked bucket: %v, want deleted", err)
	}
}

func TestAnEventThatDoesNotDecodeIsParkedUntilARebuild(t *testing.T) {
	t.Parallel()
	conn, w, r := startPoison(t, poisonProjection(new(atomic.Bool)), opts())
	// Written past the store: no version header.
	ack, err := conn.JS.PublishMsg(t.Context(), &nats.Msg{Subject: "events.item.d", Data: []byte("{")})
	if err != nil {
		t.Fatal(err)
	}
	last := w.add("b", "ok")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := r.Wait(ctx, last); err != nil {
		t.Fatalf("the event after the undecodable one was not applied: %v", err)
	}
	parked, err := r.Parked(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(parked) != 1 || parked[0].Seq != ack.Sequence || parked[0].Key != "" || !strings.Contains(parked[0].Error, "bad Ironstar-Version") {
		t.Errorf("parked %+v, want event %d, tied to no key, with its decoding error", parked, ack.Sequence)
	}
	if err := r.Health(t.Context()); !errors.Is(err, projection.ErrDegraded) {
		t.Errorf("health = %v, want degraded", err)
	}
	// No later event can heal it; a rebuild replays it, and it is parked
	// again, in the new generation only.
	if _, err := projection.Rebuild(t.Context(), conn.JS, poisonProjection(new(atomic.Bool)), opts()); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "the runner to follow the rebuild", func() bool { return r.Generation() == 2 })
	if parked, err := r.Parked(t.Context()); err != nil || len(parked) != 1 || parked[0].Generation != 2 {
		t.Errorf("parked after a rebuild: %+v, %v; want the same event, in generation 2", parked, err)
	}
}

func TestAStoredValueThatDoesNotDecodeParksItsKeyOnly(t *testing.T) {
	t.Parallel()
	conn, w, r := startPoison(t, poisonProjection(new(atomic.Bool)), opts())
	// A value from an older, incompatible release, say.
	kv, err := conn.JS.KeyValue(t.Context(), "proj_poison_1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), "z", []byte(`{"seq":"not a number"}`)); err != nil {
		t.Fatal(err)
	}
	bad := w.add("z", "ok")
	last := w.add("b", "ok")
	view, err := projection.OpenView[bag](t.Context(), conn.JS, "poison")
	if err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "b's event after z's", func() bool { return seqOf(t, view, "b") == last })
	parked, err := r.Parked(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(parked) != 1 || parked[0].Seq != bad || parked[0].Key != "z" || !strings.Contains(parked[0].Error, "does not decode") {
		t.Errorf("parked %+v, want z's event %d, its stored value not decoding", parked, bad)
	}
}

func TestAParkedEntryLeftBehindByAHealIsNeitherReportedNorKept(t *testing.T) {
	t.Parallel()
	conn, w, r := startPoison(t, poisonProjection(new(atomic.Bool)), opts())
	first := w.add("b", "ok")
	w.add("b", "ok")
	fail := w.add("c", "fail")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := r.Wait(ctx, fail); err != nil {
		t.Fatal(err)
	}
	// As if a runner had parked b's first event, applied its second and
	// stopped before deleting the entry: the entry comes before c's, which
	// still stands, and Health, reading entries in order, must skip it.
	parked, err := conn.JS.KeyValue(t.Context(), "proj_poison_1_parked")
	if err != nil {
		t.Fatal(err)
	}
	left := fmt.Sprintf("k.0000000000000000.%d", first)
	data, _ := json.Marshal(projection.Parked{Projection: "poison", Generation: 1, Seq: first, Key: "b", Error: "left behind"})
	if _, err := parked.Create(t.Context(), left, data); err != nil {
		t.Fatal(err)
	}
	if err := r.Health(t.Context()); !errors.Is(err, projection.ErrDegraded) || !strings.Contains(err.Error(), fmt.Sprintf("event %d on key \"c\"", fail)) {
		t.Errorf("health = %v, want degraded by c's event %d", err, fail)
	}
	if seqs := parkedSeqs(t, r); len(seqs) != 1 || seqs[0] != fail {
		t.Errorf("parked %v, want c's event %d only", seqs, fail)
	}
	if _, err := parked.Get(t.Context(), left); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("the entry left behind: %v, want deleted", err)
	}
}
