package jetstreamx

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// WatchValue follows one key of a KV bucket that another process owns: it
// sends the key's value now and after each change (nil once it is deleted
// or while there is none), until ctx ends, then closes the channel. A
// bucket that does not exist yet, or a watch that breaks, is tried again
// every retry. Only the newest value waits for a slow reader.
func WatchValue(ctx context.Context, js jetstream.JetStream, bucket, key string, retry time.Duration) <-chan []byte {
	out := make(chan []byte, 1)
	send := func(v []byte) {
		select { // keep only the newest
		case <-out:
		default:
		}
		out <- v
	}
	go func() {
		defer close(out)
		for {
			watchOnce(ctx, js, bucket, key, send)
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
		}
	}()
	return out
}

// watchOnce watches the key until the watch ends or breaks.
func watchOnce(ctx context.Context, js jetstream.JetStream, bucket, key string, send func([]byte)) {
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		return
	}
	w, err := kv.Watch(ctx, key)
	if err != nil {
		return
	}
	defer func() { _ = w.Stop() }()
	empty := true // no value among the initial ones (a nil entry ends them)
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				return
			case e == nil:
				if empty {
					send(nil)
				}
			case e.Operation() == jetstream.KeyValuePut:
				empty = false
				send(e.Value())
			default: // deleted or purged
				send(nil)
			}
		}
	}
}
