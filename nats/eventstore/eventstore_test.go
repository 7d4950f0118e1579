package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"ironstar/es"
	"ironstar/es/storetest"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
)

func newStore(t testing.TB) (*eventstore.Store, jetstream.JetStream) {
	t.Helper()
	conn := natstest.Connect(t)
	s, err := eventstore.New(context.Background(), conn.JS, eventstore.Config{})
	if err != nil {
		t.Fatalf("eventstore.New: %v", err)
	}
	return s, conn.JS
}

// newStorage is newStore with the snapshot store beside it.
func newStorage(t testing.TB) (*eventstore.Store, *eventstore.Snapshots, jetstream.JetStream) {
	t.Helper()
	s, js := newStore(t)
	snaps, err := eventstore.NewSnapshots(context.Background(), js, 1)
	if err != nil {
		t.Fatalf("eventstore.NewSnapshots: %v", err)
	}
	return s, snaps, js
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, _ := newStore(t)
		return s
	})
}

func TestEventsLiveOnOneSubjectPerAggregate(t *testing.T) {
	s, js := newStore(t)
	ctx := t.Context()
	stream := es.StreamID{Aggregate: "todo", ID: "list-7"}
	if _, err := s.Append(ctx, stream, 0, []es.Envelope{{ID: "e1", Type: "todo.added", Version: 2, Data: []byte(`{"text":"x"}`), Meta: es.Metadata{CommandID: "c1"}}}); err != nil {
		t.Fatal(err)
	}
	st, _ := js.Stream(ctx, eventstore.StreamName)
	msg, err := st.GetLastMsgForSubject(ctx, "events.todo.list-7")
	if err != nil {
		t.Fatalf("no message on events.todo.list-7: %v", err)
	}
	if msg.Header.Get(eventstore.HeaderType) != "todo.added" || msg.Header.Get(eventstore.HeaderVersion) != "2" || msg.Header.Get("Nats-Msg-Id") != "e1" {
		t.Errorf("headers = %v", msg.Header)
	}
	if string(msg.Data) != `{"text":"x"}` {
		t.Errorf("payload = %s, want the event's JSON only", msg.Data)
	}
	info, _ := st.Info(ctx)
	if info.Config.Storage != jetstream.FileStorage {
		t.Errorf("storage = %v, want file", info.Config.Storage)
	}
}

func TestExistingStreamWithOtherSettingsIsRefused(t *testing.T) {
	conn := natstest.Connect(t)
	ctx := t.Context()
	if _, err := conn.JS.CreateStream(ctx, jetstream.StreamConfig{Name: eventstore.StreamName, Subjects: []string{"other.>"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	_, err := eventstore.New(ctx, conn.JS, eventstore.Config{})
	if err == nil || !strings.Contains(err.Error(), "exists with other settings") {
		t.Fatalf("New on a foreign EVENTS stream = %v, want a clear refusal", err)
	}
}

func TestFollowDeliversStoredThenNewEvents(t *testing.T) {
	s, _ := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	a := es.StreamID{Aggregate: "todo", ID: "a"}
	v, err := s.Append(ctx, a, 0, []es.Envelope{{ID: "old", Type: "x", Version: 1, Data: []byte(`{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan es.Envelope, 10)
	done := make(chan error, 1)
	go func() {
		done <- s.Follow(ctx, 0, func(e es.Envelope) error { seen <- e; return nil }, "events.todo.>")
	}()
	if e := <-seen; e.ID != "old" {
		t.Fatalf("first followed event = %s, want old", e.ID)
	}
	if _, err := s.Append(ctx, es.StreamID{Aggregate: "counter", ID: "skip"}, 0, []es.Envelope{{ID: "other", Type: "x", Version: 1, Data: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, a, v, []es.Envelope{{ID: "new", Type: "x", Version: 1, Data: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	if e := <-seen; e.ID != "new" {
		t.Fatalf("next followed event = %s, want new (the filter drops other aggregates)", e.ID)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Follow ended with %v, want context.Canceled", err)
	}
}

func TestReadBetweenReadsOneWindowOfOneSubject(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	versions := map[es.StreamID]uint64{}
	var sequences []uint64 // of todo/a's events
	for i, agg := range []string{"todo/a", "counter/b", "todo/a", "todo/c", "todo/a", "todo/a"} {
		aggregate, id, _ := strings.Cut(agg, "/")
		stream := es.StreamID{Aggregate: aggregate, ID: id}
		v, err := s.Append(ctx, stream, versions[stream], []es.Envelope{{ID: "e" + strconv.Itoa(i), Type: "x", Version: 1, Data: []byte(`{}`)}})
		if err != nil {
			t.Fatal(err)
		}
		versions[stream] = v
		if agg == "todo/a" {
			sequences = append(sequences, v)
		}
	}
	read := func(subject string, after, before uint64) []uint64 {
		t.Helper()
		events, err := s.ReadBetween(ctx, subject, after, before)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, e := range events {
			got = append(got, e.Sequence)
		}
		return got
	}
	if got, want := read("events.todo.a", sequences[0], sequences[3]), sequences[1:3]; !slices.Equal(got, want) {
		t.Errorf("todo/a between %d and %d = %v, want %v", sequences[0], sequences[3], got, want)
	}
	if got := read("events.todo.>", 1, 5); !slices.Equal(got, []uint64{3, 4}) {
		t.Errorf("events.todo.> between 1 and 5 = %v, want [3 4]", got)
	}
	if got := read("", 0, 100); len(got) != 6 {
		t.Errorf("every event = %v, want all 6", got)
	}
	if got := read("", 4, 5); len(got) != 0 {
		t.Errorf("an empty window = %v, want nothing", got)
	}
}

// itemAdded is at schema version 2; version 1 stored the text as "title".
type itemAdded struct {
	Text string `json:"text"`
}

func TestOldEventsLoadAsTheCurrentType(t *testing.T) {
	s, js := newStore(t)
	ctx := t.Context()
	// An event written long ago, in version 1's shape, straight to JetStream.
	old := nats.NewMsg("events.list.l1")
	old.Header.Set("Nats-Msg-Id", "ancient")
	old.Header.Set(eventstore.HeaderType, "list.item-added")
	old.Header.Set(eventstore.HeaderVersion, "1")
	old.Data = []byte(`{"title":"buy milk"}`)
	if _, err := js.PublishMsg(ctx, old); err != nil {
		t.Fatal(err)
	}

	reg := es.NewRegistry()
	es.Register[itemAdded](reg, "list.item-added", 2)
	reg.Upcast("list.item-added", 1, func(data json.RawMessage) (json.RawMessage, error) {
		var v1 struct{ Title string }
		if err := json.Unmarshal(data, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(itemAdded{Text: v1.Title})
	})

	events, _, err := s.Load(ctx, es.StreamID{Aggregate: "list", ID: "l1"}, 0)
	if err != nil || len(events) != 1 {
		t.Fatalf("Load = %v, %v", events, err)
	}
	got, err := es.DecodeAs[itemAdded](reg, events[0])
	if err != nil || got != (itemAdded{Text: "buy milk"}) {
		t.Errorf("decoded %#v, %v; want itemAdded{buy milk}", got, err)
	}
}

// A message of an aggregate without the envelope the store writes (here,
// its version header) is es.ErrUndecodable, so the aggregate's commands say
// so rather than fail as if the store had.
func TestAMessageWithoutItsHeadersIsUndecodable(t *testing.T) {
	s, js := newStore(t)
	ctx := t.Context()
	bare := nats.NewMsg("events.list.l1")
	bare.Header.Set(eventstore.HeaderType, "list.item-added")
	bare.Data = []byte(`{}`)
	ack, err := js.PublishMsg(ctx, bare)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Load(ctx, es.StreamID{Aggregate: "list", ID: "l1"}, 0)
	if !errors.Is(err, es.ErrUndecodable) || !strings.Contains(err.Error(), "Ironstar-Version") {
		t.Errorf("Load over message %d without its version = %v, want ErrUndecodable naming the header", ack.Sequence, err)
	}
}

func TestSnapshotContract(t *testing.T) {
	conn := natstest.Connect(t)
	snaps, err := eventstore.NewSnapshots(t.Context(), conn.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	storetest.RunSnapshots(t, snaps)
}

// TestHandlerContract runs the handler's contract on JetStream, where a
// retry older than the snapshot remembers is caught by the stream's
// duplicate window.
func TestHandlerContract(t *testing.T) {
	s, snaps, _ := newStorage(t)
	storetest.RunHandler(t, s, snaps)
}

// TestCacheContract runs the contract of the Handler's cache on JetStream.
func TestCacheContract(t *testing.T) {
	s, snaps, _ := newStorage(t)
	storetest.RunCache(t, s, snaps)
}
