package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats/ensure"
	"ironstar/nats/jetstreamx"
)

// KeyBucket holds the key that signs session cookies when SESSION_KEY is
// not set: the first instance generates it, every other reads it, and it
// survives restarts, so cookies stay valid across instances and restarts.
// Whoever can read this bucket can forge sessions; whoever can read the
// NATS server can read every list anyway.
const KeyBucket = "session_key"

// keyName is the key's entry in KeyBucket.
const keyName = "hmac"

// MinKeyLength is the shortest master key accepted (256 bits).
const MinKeyLength = 32

// sharedKey returns the key kept in KeyBucket, creating it if there is
// none. Instances starting together race on Create; the loser reads.
func sharedKey(ctx context.Context, js jetstream.JetStream, replicas int) ([]byte, error) {
	kv, err := ensure.KeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket:      KeyBucket,
		Description: "the key that signs session cookies (unless SESSION_KEY is set); deleting it ends every session",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("session: key bucket: %w", err)
	}
	fresh := make([]byte, MinKeyLength)
	rand.Read(fresh)
	encoded := base64.RawURLEncoding.EncodeToString(fresh)
	key, err := ensure.Retry(ctx, "session key", func(ctx context.Context) ([]byte, error) {
		_, err := kv.Create(ctx, keyName, []byte(encoded))
		if err == nil {
			return fresh, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, err
		}
		// Someone else's, or ours from an attempt whose answer was lost:
		// the stored one is the key either way.
		value, _, err := jetstreamx.KVGet(ctx, js, kv, keyName)
		if err != nil {
			return nil, err
		}
		key, err := base64.RawURLEncoding.DecodeString(string(value))
		if err != nil || len(key) < MinKeyLength {
			return nil, fmt.Errorf("bucket %s holds no valid key (delete it to start over; every session ends)", KeyBucket)
		}
		return key, nil
	})
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	return key, nil
}
