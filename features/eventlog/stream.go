package eventlog

import (
	"context"
	"log/slog"

	"ironstar/es"
	"ironstar/sse"
)

// The bounds of the stream. A frame carries at most frameEvents events
// and about frameBytes of payload (one event bigger than that goes alone);
// followBuffer events wait between the store's consumer and the frame
// being built. A client that reads slower than events come makes the
// stream wait (the events wait in JetStream, not here), and one that stops
// reading is dropped by sse.Serve's write timeout: it comes back with
// Last-Event-ID and loses nothing.
const (
	frameEvents  = 100
	frameBytes   = 256 << 10
	followBuffer = 256
)

// keepRows is how many rows the page keeps: once a stream may have pushed
// the list past it, each frame also removes the rows below the keepRows-th
// (the older ones are a click on "Older" away).
const keepRows = 500

// tail replays the events after the sequence after that match f, then
// follows new ones, as frames for sse.Serve, until ctx ends or the store
// fails (the frames then end, and Serve drops the connection so that the
// browser reconnects and resumes). render draws a frame's rows; when it
// fails, the frames end too.
func tail(ctx context.Context, s store, logger *slog.Logger, f Filter, after uint64, render func(events []es.Envelope, trim bool) (sse.Frame, error)) <-chan sse.Frame {
	ctx, cancel := context.WithCancel(ctx)
	events := make(chan es.Envelope, followBuffer)
	go func() {
		defer close(events)
		err := s.Follow(ctx, after, func(e es.Envelope) error {
			if !f.Matches(e) {
				return nil
			}
			select {
			case events <- e:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}, f.Subject())
		if err != nil && ctx.Err() == nil {
			logger.Warn("eventlog: follow the store", "after", after, "err", err)
		}
	}()
	frames := make(chan sse.Frame)
	go func() {
		defer close(frames)
		defer cancel()
		sent := 0
		for {
			batch, ok := nextBatch(ctx, events)
			if !ok {
				return
			}
			sent += len(batch)
			frame, err := render(batch, sent > keepRows-pageSize)
			if err != nil {
				logger.Error("eventlog: a frame cannot be drawn; dropping the stream", "err", err)
				return
			}
			select {
			case frames <- frame:
			case <-ctx.Done():
				return
			}
		}
	}()
	return frames
}

// nextBatch waits for an event, then takes those already waiting behind
// it, within the bounds of one frame; ok is false when the events end
// with none waiting, or ctx ends.
func nextBatch(ctx context.Context, events <-chan es.Envelope) (batch []es.Envelope, ok bool) {
	select {
	case e, open := <-events:
		if !open {
			return nil, false
		}
		batch = append(batch, e)
	case <-ctx.Done():
		return nil, false
	}
	size := len(batch[0].Data)
	for len(batch) < frameEvents && size < frameBytes {
		select {
		case e, open := <-events:
			if !open {
				return batch, true
			}
			batch = append(batch, e)
			size += len(e.Data)
		default:
			return batch, true
		}
	}
	return batch, true
}
