// Package eventstore is the es.Store on NATS JetStream. All events live in
// one stream, EVENTS, on subjects events.<aggregate>.<id>; the stream
// sequence is the global order (and the SSE event id).
//
// Appends publish with the expected last sequence of the aggregate's subject
// (optimistic concurrency) and the event ID as the message ID (JetStream
// drops a duplicate within its duplicate window). Several events of one
// command go in as one atomic batch. The event's type, schema version and
// metadata travel in headers; the payload is the event's JSON.
package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"ironstar/es"
	"ironstar/nats/ensure"
	"ironstar/nats/jetstreamx"
)

const (
	// StreamName is the one stream that holds every event.
	StreamName = "EVENTS"
	// SubjectPrefix starts every event subject.
	SubjectPrefix = "events"
)

// Headers of an event message, besides Nats-Msg-Id (the event ID).
const (
	HeaderType          = "Ironstar-Type"
	HeaderVersion       = "Ironstar-Version"
	HeaderCommandID     = "Ironstar-Command-Id"
	HeaderCorrelationID = "Ironstar-Correlation-Id"
	HeaderSession       = "Ironstar-Session"
	HeaderOccurredAt    = "Ironstar-Occurred-At"
)

// JetStream's error codes, beside jetstream.JSErrCodeStreamWrongLastSequence
// (which nats.go exports), for a failed expected-sequence check on
// replicated streams and for a batch holding an already stored ID.
const (
	errCodeWrongLastSequenceConstant = 10164
	errCodeBatchDuplicate            = 10201
)

// JetStream's error codes for a store that has no room: the stream's
// MaxBytes reached with discard-new (a store failure whose description is
// maxBytesExceeded), the server's disk budget used up, and too little of
// it left to reserve a stream's MaxBytes.
const (
	errCodeStoreFailed           = 10077
	errCodeInsufficientResources = 10023
	errCodeStorageExceeded       = 10047
	maxBytesExceeded             = "maximum bytes exceeded"
)

// Config shapes the EVENTS stream.
type Config struct {
	// Replicas of the stream: 1 for the embedded server, 3 in a cluster.
	Replicas int
	// Duplicates is JetStream's duplicate-detection window (2 minutes if 0).
	Duplicates time.Duration
	// MaxBytes caps the stream's size; 0 means no cap. The stream discards
	// new events at the cap, never old ones: appends fail with
	// es.ErrStoreFull. An existing stream is brought to this cap at start.
	MaxBytes int64
	// Writable, when set, is asked before each append; while it fails,
	// appends fail at once with es.ErrUnavailable instead of waiting out a
	// publish that a stream stuck on a write error never answers.
	Writable func(context.Context) error
}

// Store is the JetStream event store.
type Store struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	writable func(context.Context) error
}

var _ es.Store = (*Store)(nil)

// Subject is the subject of an aggregate's events.
func Subject(s es.StreamID) string {
	return SubjectPrefix + "." + s.Aggregate + "." + s.ID
}

// New opens the EVENTS stream, creating it if it does not exist.
func New(ctx context.Context, js jetstream.JetStream, cfg Config) (*Store, error) {
	want := jetstream.StreamConfig{
		Name:               StreamName,
		Description:        "Ironstar's events: every change, in order",
		Subjects:           []string{SubjectPrefix + ".>"},
		Storage:            jetstream.FileStorage,
		Retention:          jetstream.LimitsPolicy,
		Replicas:           max(cfg.Replicas, 1),
		Duplicates:         cfg.Duplicates,
		AllowDirect:        true,
		AllowAtomicPublish: true,
		DenyDelete:         true,
		DenyPurge:          true,
		MaxBytes:           -1,
		// At the cap, refuse what is new; never drop what is stored.
		Discard: jetstream.DiscardNew,
	}
	if cfg.MaxBytes > 0 {
		want.MaxBytes = cfg.MaxBytes
	}
	stream, err := ensure.Stream(ctx, js, want, compatible)
	if err != nil {
		return nil, fmt.Errorf("eventstore: %w", translateCreate(err, cfg.MaxBytes))
	}
	if have := stream.CachedInfo().Config; have.MaxBytes != want.MaxBytes || have.Discard != jetstream.DiscardNew {
		// Both change in one update: with discard-new in force, a cap
		// below the stream's size refuses appends and deletes nothing.
		// Retried as ensure.Stream's steps are, for instances starting
		// together on a cluster that is still electing leaders.
		have.MaxBytes, have.Discard = want.MaxBytes, jetstream.DiscardNew
		if _, err := ensure.Retry(ctx, "set the cap of stream "+StreamName, func(ctx context.Context) (jetstream.Stream, error) {
			return js.UpdateStream(ctx, have)
		}); err != nil {
			return nil, fmt.Errorf("eventstore: %w", translateCreate(err, cfg.MaxBytes))
		}
	}
	return &Store{nc: js.Conn(), js: js, writable: cfg.Writable}, nil
}

// Open reads the EVENTS stream the app created, without creating or
// reshaping it: for processes that only read it, such as the analytics
// engine, which may start before the app.
func Open(js jetstream.JetStream) *Store {
	return &Store{nc: js.Conn(), js: js}
}

// translateCreate names the setting to change when the server has too
// little disk to reserve the stream's cap.
func translateCreate(err error, maxBytes int64) error {
	var api *jetstream.APIError
	if errors.As(err, &api) && api.ErrorCode == errCodeStorageExceeded {
		return fmt.Errorf("%w: the server cannot reserve %d bytes for %s: lower EVENTS_MAX_BYTES or free disk space", err, maxBytes, StreamName)
	}
	return err
}

// compatible lists the settings of an existing stream that differ in a way
// the store depends on. Changing them is a deliberate migration (with the
// nats CLI), never something an app start does silently.
func compatible(have jetstream.StreamConfig) []string {
	var diffs []string
	if len(have.Subjects) != 1 || have.Subjects[0] != SubjectPrefix+".>" {
		diffs = append(diffs, fmt.Sprintf("subjects %v (want [%s.>])", have.Subjects, SubjectPrefix))
	}
	if have.Storage != jetstream.FileStorage {
		diffs = append(diffs, fmt.Sprintf("storage %v (want file)", have.Storage))
	}
	if have.Retention != jetstream.LimitsPolicy {
		diffs = append(diffs, fmt.Sprintf("retention %v (want limits)", have.Retention))
	}
	if !have.AllowAtomicPublish {
		diffs = append(diffs, "atomic publish off (want on)")
	}
	return diffs
}

// Append implements es.Store.
func (s *Store) Append(ctx context.Context, stream es.StreamID, expected uint64, events []es.Envelope) (uint64, error) {
	if err := stream.Validate(); err != nil {
		return 0, err
	}
	if s.writable != nil && len(events) > 0 {
		if err := s.writable(ctx); err != nil {
			return 0, fmt.Errorf("eventstore: append %s: %w: %w", stream, es.ErrUnavailable, err)
		}
	}
	switch len(events) {
	case 0:
		return expected, nil
	case 1:
		return s.publishOne(ctx, stream, expected, events[0])
	default:
		return s.publishBatch(ctx, stream, expected, events)
	}
}

func (s *Store) publishOne(ctx context.Context, stream es.StreamID, expected uint64, e es.Envelope) (uint64, error) {
	ack, err := s.js.PublishMsg(ctx, message(stream, e),
		jetstream.WithExpectLastSequencePerSubject(expected),
		jetstream.WithMsgID(e.ID))
	if err != nil {
		return 0, translate("publish", err, stream, expected)
	}
	// A duplicate is acknowledged with the sequence it was first stored at.
	// One stored after the expected version (a cluster's leader checks
	// duplicates before the expected sequence) means the caller's version
	// is outdated: a conflict, as from a single server.
	if ack.Duplicate && ack.Sequence > expected {
		return 0, fmt.Errorf("%w: %s expected at %d: event %s already stored at %d", es.ErrConcurrency, stream, expected, e.ID, ack.Sequence)
	}
	return ack.Sequence, nil
}

// publishBatch stores events as one JetStream atomic batch: all or none.
// The messages before the last are plain publishes; the last commits the
// batch and carries the one acknowledgement.
func (s *Store) publishBatch(ctx context.Context, stream es.StreamID, expected uint64, events []es.Envelope) (uint64, error) {
	batchID := nuid.Next()
	for i, e := range events {
		msg := message(stream, e)
		msg.Header.Set(jetstream.MsgIDHeader, e.ID)
		msg.Header.Set("Nats-Batch-Id", batchID)
		msg.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		if i == 0 {
			msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(expected, 10))
		}
		if i < len(events)-1 {
			if err := s.nc.PublishMsg(msg); err != nil {
				return 0, failed("publish batch", err)
			}
			continue
		}
		msg.Header.Set("Nats-Batch-Commit", "1")
		reply, err := s.nc.RequestMsgWithContext(ctx, msg)
		if err != nil {
			return 0, failed("commit batch", err)
		}
		var ack struct {
			Sequence uint64              `json:"seq"`
			Error    *jetstream.APIError `json:"error"`
		}
		if err := json.Unmarshal(reply.Data, &ack); err != nil {
			return 0, fmt.Errorf("eventstore: commit batch: bad reply %q: %w", reply.Data, err)
		}
		if ack.Error != nil {
			return 0, translate("commit batch", ack.Error, stream, expected)
		}
		return ack.Sequence, nil
	}
	panic("unreachable")
}

// translate turns JetStream's refusal of an append (a publish's error, or
// a batch's acknowledgement) into the es sentinels.
func translate(what string, err error, stream es.StreamID, expected uint64) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case jetstream.JSErrCodeStreamWrongLastSequence, errCodeWrongLastSequenceConstant, errCodeBatchDuplicate:
			// A duplicate batch means these events are already stored:
			// a conflict makes the command helper reload and see them.
			return fmt.Errorf("%w: %s expected at %d: %s", es.ErrConcurrency, stream, expected, apiErr.Description)
		}
		// Before the transient check: JetStream answers these with 503.
		if full(apiErr) {
			return fmt.Errorf("eventstore: %s %s: %w: %s", what, stream, es.ErrStoreFull, apiErr.Description)
		}
	}
	return failed(what, err)
}

// full reports whether JetStream refused a message for lack of room: the
// stream's cap, or the server's disk budget.
func full(err *jetstream.APIError) bool {
	switch err.ErrorCode {
	case errCodeInsufficientResources, errCodeStorageExceeded:
		return true
	case errCodeStoreFailed:
		return strings.Contains(err.Description, maxBytesExceeded)
	}
	return false
}

// failed wraps a NATS error; one that means NATS is not answering for now
// becomes es.ErrUnavailable.
func failed(what string, err error) error {
	if jetstreamx.Transient(err) {
		return fmt.Errorf("eventstore: %s: %w: %w", what, es.ErrUnavailable, err)
	}
	return fmt.Errorf("eventstore: %s: %w", what, err)
}

func message(stream es.StreamID, e es.Envelope) *nats.Msg {
	msg := nats.NewMsg(Subject(stream))
	msg.Data = e.Data
	h := msg.Header
	h.Set(HeaderType, e.Type)
	h.Set(HeaderVersion, strconv.Itoa(e.Version))
	setIf(h, HeaderCommandID, e.Meta.CommandID)
	setIf(h, HeaderCorrelationID, e.Meta.CorrelationID)
	setIf(h, HeaderSession, e.Meta.Session)
	if !e.Meta.OccurredAt.IsZero() {
		h.Set(HeaderOccurredAt, e.Meta.OccurredAt.UTC().Format(time.RFC3339Nano))
	}
	return msg
}

func setIf(h nats.Header, key, value string) {
	if value != "" {
		h.Set(key, value)
	}
}

// Decode turns a stored message into an envelope. A message it cannot
// read (written past the app, or by another release) is es.ErrUndecodable:
// in an aggregate's own stream it stops that aggregate's commands, loudly,
// rather than fail them as if the store had.
func Decode(subject string, h nats.Header, data []byte, sequence uint64) (es.Envelope, error) {
	parts := strings.Split(subject, ".")
	if len(parts) != 3 || parts[0] != SubjectPrefix {
		return es.Envelope{}, fmt.Errorf("eventstore: message %d: %w: subject %q is not events.<aggregate>.<id>", sequence, es.ErrUndecodable, subject)
	}
	version, err := strconv.Atoi(h.Get(HeaderVersion))
	if err != nil {
		return es.Envelope{}, fmt.Errorf("eventstore: message %d: %w: bad %s %q", sequence, es.ErrUndecodable, HeaderVersion, h.Get(HeaderVersion))
	}
	env := es.Envelope{
		ID:       h.Get(jetstream.MsgIDHeader),
		Stream:   es.StreamID{Aggregate: parts[1], ID: parts[2]},
		Type:     h.Get(HeaderType),
		Version:  version,
		Data:     data,
		Sequence: sequence,
		Meta: es.Metadata{
			CommandID:     h.Get(HeaderCommandID),
			CorrelationID: h.Get(HeaderCorrelationID),
			Session:       h.Get(HeaderSession),
		},
	}
	if at := h.Get(HeaderOccurredAt); at != "" {
		if env.Meta.OccurredAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return es.Envelope{}, fmt.Errorf("eventstore: message %d: %w: bad %s %q", sequence, es.ErrUndecodable, HeaderOccurredAt, at)
		}
	}
	return env, nil
}

func decodeMsg(m jetstream.Msg) (es.Envelope, error) {
	meta, err := m.Metadata()
	if err != nil {
		return es.Envelope{}, fmt.Errorf("eventstore: %w", err)
	}
	return Decode(m.Subject(), m.Headers(), m.Data(), meta.Sequence.Stream)
}

// Load implements es.Store. It reads with batched direct gets, which use
// the stream's per-subject index: one request per thousand events, and no
// consumer to create and clean up. From a snapshot's version the first get
// asks for sequence after+1, and the server starts at the block holding it
// (skipping blocks without the subject): the cost is the events since the
// snapshot, not the aggregate's history (BenchmarkCommandOnLongAggregate).
func (s *Store) Load(ctx context.Context, stream es.StreamID, after uint64) ([]es.Envelope, uint64, error) {
	if err := stream.Validate(); err != nil {
		return nil, 0, err
	}
	events, err := s.readBatches(ctx, Subject(stream), after+1, 0)
	if err != nil {
		return nil, 0, err
	}
	if len(events) == 0 {
		return nil, after, nil
	}
	return events, events[len(events)-1].Sequence, nil
}

// ReadAfter returns up to limit events of any aggregate whose Sequence is
// above after, in order. Fewer than limit means the end was reached.
func (s *Store) ReadAfter(ctx context.Context, after uint64, limit int) ([]es.Envelope, error) {
	if limit <= 0 {
		return nil, nil
	}
	return s.readBatches(ctx, SubjectPrefix+".>", after+1, limit)
}

// ReadBetween returns the events on subject whose Sequence is above after
// and below before, in order. subject filters them as in Follow
// ("events.todo.>", "events.todo.list-7"); empty means every event. It is
// a window of the log: a reader paging backwards (the store reads only
// forwards) moves it down, and reads at most the window's width of events.
func (s *Store) ReadBetween(ctx context.Context, subject string, after, before uint64) ([]es.Envelope, error) {
	if subject == "" {
		subject = SubjectPrefix + ".>"
	}
	var events []es.Envelope
	for from := after + 1; from < before; {
		past := false
		pending, err := s.directGet(ctx, subject, from, int(min(before-from, directBatch)), func(env es.Envelope) {
			if env.Sequence >= before {
				past = true
				return
			}
			events = append(events, env)
			from = env.Sequence + 1
		})
		if err != nil {
			return nil, err
		}
		if past || pending == 0 {
			break
		}
	}
	return events, nil
}

// directBatch is the most messages one direct-get request asks for.
const directBatch = 1000

// readTimeout bounds the wait for one batch of a direct get.
const readTimeout = 5 * time.Second

// readBatches reads the events on subject from sequence from, up to limit
// (all when 0), with as many batched direct gets as it takes.
func (s *Store) readBatches(ctx context.Context, subject string, from uint64, limit int) ([]es.Envelope, error) {
	var events []es.Envelope
	for {
		batch := directBatch
		if limit > 0 {
			batch = min(batch, limit-len(events))
		}
		pending, err := s.directGet(ctx, subject, from, batch, func(env es.Envelope) {
			events = append(events, env)
			from = env.Sequence + 1
		})
		if err != nil {
			return nil, err
		}
		if pending == 0 || (limit > 0 && len(events) >= limit) {
			return events, nil
		}
	}
}

// directGet sends one batched direct-get request for up to batch messages
// on subject from sequence from, passes each to fn, and returns how many
// more the server reported pending at the end of the batch.
func (s *Store) directGet(ctx context.Context, subject string, from uint64, batch int, fn func(es.Envelope)) (uint64, error) {
	req, _ := json.Marshal(struct {
		Seq     uint64 `json:"seq"`
		NextFor string `json:"next_by_subj"`
		Batch   int    `json:"batch"`
	}{from, subject, batch})
	inbox := s.nc.NewRespInbox()
	sub, err := s.nc.SubscribeSync(inbox)
	if err != nil {
		return 0, failed("read", err)
	}
	defer sub.Unsubscribe()
	if err := s.nc.PublishRequest("$JS.API.DIRECT.GET."+StreamName, inbox, req); err != nil {
		return 0, failed("read", err)
	}
	// A request lost with a node that died is answered by nobody: give up
	// after a while rather than wait for as long as ctx allows.
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return 0, failed("read "+subject, err)
		}
		switch status := msg.Header.Get("Status"); status {
		case "":
		case "204": // end of batch
			pending, _ := strconv.ParseUint(msg.Header.Get("Nats-Num-Pending"), 10, 64)
			return pending, nil
		case "404": // nothing at or after from
			return 0, nil
		case "503": // no responders: no replica answers direct gets now
			return 0, failed("read "+subject, nats.ErrNoResponders)
		default:
			return 0, fmt.Errorf("eventstore: read %s: status %s %s", subject, status, msg.Header.Get("Description"))
		}
		seq, err := strconv.ParseUint(msg.Header.Get("Nats-Sequence"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("eventstore: read %s: bad Nats-Sequence", subject)
		}
		env, err := Decode(msg.Header.Get("Nats-Subject"), msg.Header, msg.Data, seq)
		if err != nil {
			return 0, err
		}
		fn(env)
	}
}

// Follow calls fn with every event after the sequence after, in order, and
// then with each new event as it is stored, until ctx ends or fn fails.
// Subjects filter the events (all when empty), e.g. "events.todo.>".
func (s *Store) Follow(ctx context.Context, after uint64, fn func(es.Envelope) error, subjects ...string) error {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: subjects, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: after + 1}
	cons, err := s.js.OrderedConsumer(ctx, StreamName, cfg)
	if err != nil {
		return fmt.Errorf("eventstore: follow: %w", err)
	}
	msgs, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("eventstore: follow: %w", err)
	}
	defer msgs.Stop()
	stop := context.AfterFunc(ctx, msgs.Stop)
	defer stop()
	for {
		m, err := msgs.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("eventstore: follow: %w", err)
		}
		env, err := decodeMsg(m)
		if err != nil {
			return err
		}
		if err := fn(env); err != nil {
			return err
		}
	}
}

// LastSequence is the sequence of the newest event stored (0 when empty).
func (s *Store) LastSequence(ctx context.Context) (uint64, error) {
	stream, err := s.js.Stream(ctx, StreamName)
	if err != nil {
		return 0, failed("stream info", err)
	}
	return stream.CachedInfo().State.LastSeq, nil
}

// Usage reports the stream's size and its cap (0 when it has none).
func (s *Store) Usage(ctx context.Context) (size uint64, maxBytes int64, err error) {
	stream, err := s.js.Stream(ctx, StreamName)
	if err != nil {
		return 0, 0, failed("stream info", err)
	}
	info := stream.CachedInfo()
	return info.State.Bytes, max(info.Config.MaxBytes, 0), nil
}

// WatchCapacity checks the stream's size every interval until ctx ends and
// logs a warning when it crosses warnAt (a fraction of the cap, e.g. 0.8),
// and an error when it is all but full, each once per crossing: the
// operator has time to raise EVENTS_MAX_BYTES before commands are refused.
func (s *Store) WatchCapacity(ctx context.Context, interval time.Duration, warnAt float64, logger *slog.Logger) {
	const fullAt = 0.99
	level := 0 // 0 below warnAt, 1 above it, 2 full
	check := func() {
		attempt, cancel := context.WithTimeout(ctx, readTimeout)
		defer cancel()
		size, maxBytes, err := s.Usage(attempt)
		if err != nil || maxBytes == 0 {
			return // NATS not answering is readiness's business; no cap, no warning
		}
		used := float64(size) / float64(maxBytes)
		now := 0
		switch {
		case used >= fullAt:
			now = 2
		case used >= warnAt:
			now = 1
		}
		attrs := []any{"stream", StreamName, "bytes", size, "max_bytes", maxBytes, "used_percent", int(used * 100)}
		// Both lines when one check jumps past both marks.
		if now >= 1 && level < 1 {
			logger.Warn("event store filling up: raise EVENTS_MAX_BYTES before it is full", attrs...)
		}
		if now == 2 && level < 2 {
			logger.Error("event store full: commands are refused until EVENTS_MAX_BYTES is raised", attrs...)
		}
		level = now
	}
	check()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			check()
		}
	}
}
