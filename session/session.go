// Package session identifies browsers. The cookie holds a random 256-bit
// ID and the time it was issued, signed with a key every app instance
// shares (cookie.go): the server recognises the IDs it issued without
// storing them, so a visitor who only reads pages costs no storage, an ID
// the server never issued is never adopted, and an expired cookie is not
// revived. A session that sends a command is kept in a JetStream KV bucket
// from then on (shared by every instance, expiring when unused). A used
// session never expires: its cookie and its record are renewed, at most
// once per tenth of the TTL so that a busy page does not write on every
// request. A command without a valid session is refused, never run in a
// fresh one.
package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/clientip"
	"ironstar/internal/lru"
	"ironstar/nats/ensure"
	"ironstar/nats/jetstreamx"
)

// Bucket is the KV bucket of the sessions that have sent a command.
const Bucket = "sessions"

// Session is what a request knows about its browser.
type Session struct {
	// ID is the random part of the cookie. Never store it in events or logs.
	ID string
	// PublicID is a public handle on the session: it names the session's
	// todo list, its counter, and appears in events' metadata. Unlike ID it
	// is not a secret.
	PublicID string
}

// record is a session as kept in Bucket, under its ID.
type record struct {
	PublicID string    `json:"public_id"`
	Created  time.Time `json:"created"`
	// Touched is when the record was last written; the bucket's TTL
	// counts from the last write.
	Touched time.Time `json:"touched"`
}

// Options configure a Store.
type Options struct {
	// TTL is how long an unused session lives.
	TTL time.Duration
	// Replicas of the buckets.
	Replicas int
	// Key signs cookies and derives public IDs; at least MinKeyLength
	// bytes. Empty: a key generated once and kept in KeyBucket. Changing it
	// ends every session.
	Key []byte
	// Clients tells a request from a trusted proxy, whose
	// X-Forwarded-Proto is believed: the resolver the router uses for
	// per-client limits, so that both trust the same peers.
	Clients clientip.Resolver
	// CacheSize is how many kept sessions the Store remembers (see keep):
	// DefaultCacheSize if 0, none if negative.
	CacheSize int
}

// DefaultCacheSize is Options.CacheSize's default: some 200 bytes each.
const DefaultCacheSize = 100_000

// Store finds, starts, keeps and renews sessions.
type Store struct {
	js        jetstream.JetStream
	kv        jetstream.KeyValue
	ttl       time.Duration
	cookieKey []byte
	publicKey []byte
	clients   clientip.Resolver
	now       func() time.Time
	logger    *slog.Logger
	// kept are the sessions known to be in the bucket, by ID (nil: none
	// remembered).
	kept *lru.Cache[string, keptSession]
}

// keptSession is a session this process saw in the bucket: its record's
// public ID and when the record was last written.
type keptSession struct {
	publicID string
	touched  time.Time
}

// NewStore opens (or creates) the sessions bucket and the signing key.
func NewStore(ctx context.Context, js jetstream.JetStream, opts Options, logger *slog.Logger) (*Store, error) {
	kv, err := ensure.KeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "browser sessions that sent a command; a value expires when unused for TTL",
		TTL:         opts.TTL,
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    max(opts.Replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("session: bucket: %w", err)
	}
	key := opts.Key
	if len(key) == 0 {
		if key, err = sharedKey(ctx, js, opts.Replicas); err != nil {
			return nil, err
		}
	} else if len(key) < MinKeyLength {
		return nil, fmt.Errorf("session: the key must be at least %d bytes", MinKeyLength)
	}
	st := &Store{
		js: js, kv: kv, ttl: opts.TTL,
		cookieKey: deriveKey(key, "cookie"), publicKey: deriveKey(key, "public-id"),
		clients: opts.Clients, now: time.Now, logger: logger,
	}
	switch {
	case opts.CacheSize == 0:
		st.kept = lru.New[string, keptSession](DefaultCacheSize)
	case opts.CacheSize > 0:
		st.kept = lru.New[string, keptSession](opts.CacheSize)
	}
	return st, nil
}

// renewEvery is how old a cookie or a record must be before a request
// renews it.
func (s *Store) renewEvery() time.Duration { return s.ttl / 10 }

// ErrNoSession means a command came without a valid session: no cookie,
// one the server did not issue, or an expired one.
var ErrNoSession = errors.New("session: no valid session")

type ctxKey struct{}

// FromContext returns the request's session, set by Middleware or Guard.
func FromContext(ctx context.Context) (Session, bool) {
	sess, ok := ctx.Value(ctxKey{}).(Session)
	return sess, ok
}

// ErrUnavailable means the sessions bucket could not be reached when a
// request needed it: a command's session cannot be kept, or a session from
// before signed cookies cannot be found. It passes in seconds (a NATS node
// restarting, a leader being elected), so it is answered 503 + Retry-After.
var ErrUnavailable = errors.New("session: the sessions bucket is not answering")

// Refusal answers a request that Guard does not let through; err is
// ErrNoSession or wraps ErrUnavailable. It is how a feature answers in its
// own page (an alert fragment, say) without this package knowing features.
type Refusal func(w http.ResponseWriter, r *http.Request, err error)

// Middleware finds the request's session from its cookie, or for a page or
// stream (GET, HEAD) starts one, storing nothing. A command (any other
// method) without a valid session is refused: 403, plain text. If the
// bucket cannot be reached when it is needed it answers 503 +
// Retry-After, plain text.
func (s *Store) Middleware(next http.Handler) http.Handler {
	return s.Guard(plainRefusal)(next)
}

// plainRefusal is the Refusal of Middleware: plain text, for pages and
// for clients that are not a feature's Datastar page.
func plainRefusal(w http.ResponseWriter, _ *http.Request, err error) {
	if errors.Is(err, ErrUnavailable) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "sessions are unavailable, try again shortly", http.StatusServiceUnavailable)
		return
	}
	http.Error(w, "no valid session: reload the page", http.StatusForbidden)
}

// Guard is Middleware whose refusals are refuse's: a command without a
// valid session (ErrNoSession), and any request whose session needs the
// bucket while it cannot be reached (ErrUnavailable, logged here at warn).
func (s *Store) Guard(refuse Refusal) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sess, err := s.resolve(w, r)
			switch {
			case errors.Is(err, ErrNoSession):
				refuse(w, r, err)
				return
			case errors.Is(err, context.Canceled):
				return // the client went away
			case err != nil:
				s.logger.WarnContext(r.Context(), "session", "method", r.Method, "path", r.URL.Path, "err", err)
				refuse(w, r, fmt.Errorf("%w: %w", ErrUnavailable, err))
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess)))
		})
	}
}

// isCommand reports whether the request may change something.
func isCommand(r *http.Request) bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead
}

// resolve finds the request's session, renewing its cookie (on w) and its
// record when they are due, or starts one for a page.
func (s *Store) resolve(w http.ResponseWriter, r *http.Request) (Session, error) {
	ctx, now := r.Context(), s.now()
	secure := s.clients.HTTPS(r)
	value, foundAs := readCookie(r, secure)

	if t, ok := s.verify(value, now); ok {
		var sess Session
		due := now.Sub(t.issued) >= s.renewEvery()
		if isCommand(r) {
			// The session now has something to keep; a kept one's public
			// ID is its record's.
			kept, err := s.keep(ctx, t.id, now)
			if err != nil {
				return Session{}, err
			}
			sess = kept
		} else {
			sess = Session{ID: t.id, PublicID: s.publicID(t.id)}
			// A page or stream renews the record of a kept session too
			// (none is found for a session that never sent a command); it
			// does not need the record, so a failure only waits.
			if due {
				if _, _, err := s.lookup(ctx, t.id, now); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) && !errors.Is(err, context.Canceled) {
					s.logger.DebugContext(ctx, "session: renew", "err", err)
				}
			}
		}
		if due {
			s.setCookie(w, secure, s.sign(t.id, now))
		}
		return sess, nil
	}

	if wellFormed(value) {
		sess, ok, err := s.legacy(ctx, w, value, foundAs, secure, now)
		if ok || err != nil {
			return sess, err
		}
	}

	if isCommand(r) {
		return Session{}, ErrNoSession
	}
	id := newID()
	s.setCookie(w, secure, s.sign(id, now))
	return Session{ID: id, PublicID: s.publicID(id)}, nil
}

// legacy finds a session from before signed cookies: the cookie is the
// bare ID, and only the bucket knows the session (and its public ID, which
// names its list). Such sessions keep working, renewed like the others
// (the cookie keeps its value), until they go unused for TTL; a cookie of
// the bare name over HTTPS is moved to the __Host- name.
func (s *Store) legacy(ctx context.Context, w http.ResponseWriter, id, foundAs string, secure bool, now time.Time) (Session, bool, error) {
	rec, renewed, err := s.lookup(ctx, id, now)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Session{}, false, nil // never issued, or expired
	}
	if err != nil {
		return Session{}, false, err
	}
	if moved := foundAs != cookieName(secure); renewed || moved {
		s.setCookie(w, secure, id)
		if moved {
			dropCookie(w, foundAs)
		}
	}
	return Session{ID: id, PublicID: rec.PublicID}, true, nil
}

// keep makes sure a session that sends a command is in the bucket, and
// renews its record when due. A record found keeps its public ID; a new
// one gets the ID's derived one.
//
// A session this process saw in the bucket (read, created or renewed) is
// remembered with its record's last write, and its commands read nothing
// until that write is renewEvery old: then the record is read, and
// renewed, as without the memory. The bucket's TTL counts from the same
// write, so a remembered record cannot have expired (it lives ten times
// longer); nothing in the app deletes one. A record deleted behind the
// app's back (by hand) is written again by the first command of the
// session that finds it missing: one of an instance that does not
// remember the session, or this one's once the renewal is due.
func (s *Store) keep(ctx context.Context, id string, now time.Time) (Session, error) {
	if k, ok := s.kept.Get(id); ok && now.Sub(k.touched) < s.renewEvery() {
		return Session{ID: id, PublicID: k.publicID}, nil
	}
	rec, _, err := s.lookup(ctx, id, now)
	if err == nil {
		return Session{ID: id, PublicID: rec.PublicID}, nil
	}
	if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return Session{}, err
	}
	sess := Session{ID: id, PublicID: s.publicID(id)}
	data, _ := json.Marshal(record{PublicID: sess.PublicID, Created: now.UTC(), Touched: now.UTC()})
	// A concurrent command may have stored it first: the same record.
	_, err = s.kv.Create(ctx, sess.ID, data)
	switch {
	case err == nil:
		s.kept.Put(sess.ID, keptSession{publicID: sess.PublicID, touched: now})
	case !errors.Is(err, jetstream.ErrKeyExists):
		return Session{}, fmt.Errorf("session: store: %w", err)
	}
	return sess, nil
}

// lookup returns the record of id, or jetstream.ErrKeyNotFound for a
// session not kept (never, or no longer), and rewrites it (restarting the
// bucket's TTL) if it was last written at least renewEvery ago; renewed
// reports whether it did. A failed renewal is only logged: the next
// request due tries again.
func (s *Store) lookup(ctx context.Context, id string, now time.Time) (rec record, renewed bool, err error) {
	rec, revision, err := s.get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		s.kept.Remove(id)
	}
	if err != nil || now.Sub(rec.Touched) < s.renewEvery() {
		if err == nil {
			s.kept.Put(id, keptSession{publicID: rec.PublicID, touched: rec.Touched})
		}
		return rec, false, err
	}
	rec.Touched = now.UTC()
	data, _ := json.Marshal(rec)
	// Update by revision: a concurrent renewal wins, a deleted session
	// stays deleted.
	if _, err := s.kv.Update(ctx, id, data, revision); err != nil {
		// What is remembered stays the older write, due: the next
		// command reads the record again, and renews it.
		s.logger.DebugContext(ctx, "session: renew", "err", err)
		return rec, false, nil
	}
	s.kept.Put(id, keptSession{publicID: rec.PublicID, touched: rec.Touched})
	return rec, true, nil
}

// get reads a record from the bucket's leader: a lagging replica's "not
// found" would refuse a live session's command.
func (s *Store) get(ctx context.Context, id string) (record, uint64, error) {
	value, revision, err := jetstreamx.KVGet(ctx, s.js, s.kv, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return record{}, 0, err
	}
	if err != nil {
		return record{}, 0, fmt.Errorf("session: get: %w", err)
	}
	var rec record
	if err := json.Unmarshal(value, &rec); err != nil || rec.PublicID == "" {
		return record{}, 0, fmt.Errorf("session: record without a public ID (%v)", err)
	}
	return rec, revision, nil
}
