package jetstreamx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// leaderReadTimeout is how long KVGet waits for a bucket's leader before it
// settles for any replica.
const leaderReadTimeout = time.Second

// errCodeNoMessage is JetStream's "no message found".
const errCodeNoMessage = 10037

// KVGet returns the newest value of key and its revision, or
// jetstream.ErrKeyNotFound.
//
// jetstream.KeyValue.Get reads with a direct get, which any replica of the
// bucket answers — the one on the client's own server first — and a
// replica that lags (as one can for a while after a node dies) answers with
// an older value, or "not found" for a key just created: a new session
// would replace the browser's, a page would miss an acknowledged change.
// KVGet asks the bucket's leader instead, and falls back to a direct get
// only when the leader does not answer within a second (a leader is being
// elected), when a possibly older value beats none.
func KVGet(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue, key string) ([]byte, uint64, error) {
	leaderCtx, cancel := context.WithTimeout(ctx, leaderReadTimeout)
	defer cancel()
	value, revision, err := leaderGet(leaderCtx, js, kv.Bucket(), key)
	if err == nil || !Transient(err) || ctx.Err() != nil {
		return value, revision, err
	}
	entry, err := kv.Get(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	return entry.Value(), entry.Revision(), nil
}

func leaderGet(ctx context.Context, js jetstream.JetStream, bucket, key string) ([]byte, uint64, error) {
	req, _ := json.Marshal(map[string]string{"last_by_subj": "$KV." + bucket + "." + key})
	msg, err := js.Conn().RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET.KV_"+bucket, req)
	if err != nil {
		return nil, 0, err
	}
	var resp struct {
		Error *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
		Message *struct {
			Seq     uint64 `json:"seq"`
			Data    []byte `json:"data"`
			Headers []byte `json:"hdrs"`
		} `json:"message"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, 0, fmt.Errorf("nats: get %s.%s: %w", bucket, key, err)
	}
	switch {
	case resp.Error != nil && resp.Error.ErrCode == errCodeNoMessage:
		return nil, 0, jetstream.ErrKeyNotFound
	case resp.Error != nil:
		return nil, 0, &jetstream.APIError{Code: resp.Error.Code, ErrorCode: jetstream.ErrorCode(resp.Error.ErrCode), Description: resp.Error.Description}
	case resp.Message == nil:
		return nil, 0, errors.New("nats: get: empty answer")
	}
	// A deleted or purged key keeps a marker as its last message.
	if h := string(resp.Message.Headers); strings.Contains(h, "KV-Operation: DEL") || strings.Contains(h, "KV-Operation: PURGE") {
		return nil, 0, jetstream.ErrKeyNotFound
	}
	return resp.Message.Data, resp.Message.Seq, nil
}
