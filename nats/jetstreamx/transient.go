package jetstreamx

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Transient reports whether err is NATS not answering for now (a timeout,
// no responders, a reconnect, a cluster electing a leader) rather than an
// answer: asking again a little later may succeed.
func Transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) {
		return true
	}
	var api *jetstream.APIError
	if errors.As(err, &api) {
		switch {
		case api.Code == 408, api.Code == 503, api.Code == 504:
			return true
		case api.ErrorCode == ErrCodeNoPeers:
			// A cluster that is starting does not know all its peers yet.
			return true
		}
	}
	return false
}

// ErrCodeNoPeers is JetStream's "no suitable peers for placement": a
// cluster that is still starting, or fewer servers than replicas.
const ErrCodeNoPeers = 10005
