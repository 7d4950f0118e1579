// Package session keeps server-side sessions in a JetStream KV bucket. The
// browser's cookie holds only a random 256-bit ID; everything else stays on
// the server, expires with the bucket's TTL unless used, and is shared by
// every app instance. An ID the server did not issue (or that expired) is
// never adopted: such a request gets a fresh session.
package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats"
	"ironstar/nats/ensure"
)

// CookieName is the session cookie.
const CookieName = "ironstar_session"

// Bucket is the KV bucket of sessions.
const Bucket = "sessions"

// Session is what the server knows about one browser.
type Session struct {
	// ID is the cookie value. Never store it in events or logs.
	ID string `json:"-"`
	// PublicID is a public handle on the session: it names the session's
	// todo list, its counter, and appears in events' metadata. Unlike ID it
	// is not a secret.
	PublicID string `json:"public_id"`
	// Created is when the session began.
	Created time.Time `json:"created"`
	// Touched is when the session was last refreshed in the bucket.
	Touched time.Time `json:"touched"`
}

// Store creates, finds and refreshes sessions.
type Store struct {
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	ttl    time.Duration
	now    func() time.Time
	logger *slog.Logger
}

// NewStore opens (or creates) the sessions bucket; a session unused for ttl
// expires.
func NewStore(ctx context.Context, js jetstream.JetStream, ttl time.Duration, replicas int, logger *slog.Logger) (*Store, error) {
	kv, err := ensure.KeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "browser sessions; a value expires when unused for TTL",
		TTL:         ttl,
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("session: bucket: %w", err)
	}
	return &Store{js: js, kv: kv, ttl: ttl, now: time.Now, logger: logger}, nil
}

// newID returns 32 random bytes, base64url: 256 bits, a valid KV key.
func newID() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics on a broken system)
	return base64.RawURLEncoding.EncodeToString(b)
}

// idLength is the length of every ID newID makes.
const idLength = 43

func wellFormed(id string) bool {
	if len(id) != idLength {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil
}

// Create starts a new session.
func (s *Store) Create(ctx context.Context) (Session, error) {
	now := s.now().UTC()
	sess := Session{ID: newID(), PublicID: newID()[:22], Created: now, Touched: now}
	data, _ := json.Marshal(sess)
	if _, err := s.kv.Create(ctx, sess.ID, data); err != nil {
		return Session{}, fmt.Errorf("session: create: %w", err)
	}
	return sess, nil
}

// ErrNotFound means no live session has the ID.
var ErrNotFound = errors.New("session: not found")

// Get returns the session with the ID, refreshing its expiry when it is
// more than a tenth of the TTL old (so busy sessions do not write on every
// request).
func (s *Store) Get(ctx context.Context, id string) (Session, error) {
	if !wellFormed(id) {
		return Session{}, ErrNotFound
	}
	// From the bucket's leader: a lagging replica's "not found" would
	// replace the browser's session with a new one.
	value, revision, err := nats.KVGet(ctx, s.js, s.kv, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("session: get: %w", err)
	}
	var sess Session
	if err := json.Unmarshal(value, &sess); err != nil {
		return Session{}, fmt.Errorf("session: decode: %w", err)
	}
	sess.ID = id
	if now := s.now().UTC(); now.Sub(sess.Touched) > s.ttl/10 {
		sess.Touched = now
		data, _ := json.Marshal(sess)
		// Update by revision: a session deleted meanwhile stays deleted.
		if _, err := s.kv.Update(ctx, id, data, revision); err != nil {
			s.logger.Debug("session: refresh", "err", err)
		}
	}
	return sess, nil
}

type ctxKey struct{}

// FromContext returns the request's session, set by Middleware.
func FromContext(ctx context.Context) (Session, bool) {
	sess, ok := ctx.Value(ctxKey{}).(Session)
	return sess, ok
}

// Middleware finds the request's session from its cookie, or starts a new
// one and sets the cookie. If the bucket cannot be reached it answers 503.
func (s *Store) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sess Session
		var err error
		if c, cookieErr := r.Cookie(CookieName); cookieErr == nil {
			sess, err = s.Get(r.Context(), c.Value)
		} else {
			err = ErrNotFound
		}
		if errors.Is(err, ErrNotFound) {
			if sess, err = s.Create(r.Context()); err == nil {
				http.SetCookie(w, &http.Cookie{
					Name:     CookieName,
					Value:    sess.ID,
					Path:     "/",
					MaxAge:   int(s.ttl.Seconds()),
					HttpOnly: true,
					Secure:   r.TLS != nil,
					SameSite: http.SameSiteLaxMode,
				})
			}
		}
		if err != nil {
			s.logger.Error("session", "err", err)
			http.Error(w, "sessions are unavailable, try again shortly", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess)))
	})
}
