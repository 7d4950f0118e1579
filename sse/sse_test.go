package sse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"ironstar/internal/poll"
)

// TestShutdownDropsTheStream checks what a browser sees when the server's
// lifetime ends mid-stream: a broken connection (so it reconnects), not a
// clean end of stream (after which Datastar would give up).
func TestShutdownDropsTheStream(t *testing.T) {
	lifetime, shutdown := context.WithCancel(context.Background())
	defer shutdown()
	stream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := Context(r)
		defer cancel()
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "id: 1\ndata: hello\n\n")
		w.(http.Flusher).Flush()
		<-ctx.Done()
		Drop()
	})
	srv := httptest.NewServer(WithSettings(Settings{Lifetime: lifetime})(stream))
	defer srv.Close()

	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body := bufio.NewReader(res.Body)
	if line, err := body.ReadString('\n'); err != nil || line != "id: 1\n" {
		t.Fatalf("first line = %q, %v", line, err)
	}
	shutdown()
	_, err = io.ReadAll(body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("after shutdown the body ended with %v, want io.ErrUnexpectedEOF (a dropped connection)", err)
	}
}

func TestContextEndsWithTheRequest(t *testing.T) {
	lifetime := context.Background()
	reqCtx, cancelReq := context.WithCancel(context.Background())
	r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(context.WithValue(reqCtx, settingsKey{}, Settings{Lifetime: lifetime}))
	ctx, cancel := Context(r)
	defer cancel()
	cancelReq()
	<-ctx.Done() // would block for ever if the request's end were not seen
}

// TestAStreamWhoseClientStopsReadingEnds: once the client stops reading, a
// frame that cannot be written within the write timeout ends the handler,
// giving back the connection and its place under the caps.
func TestAStreamWhoseClientStopsReadingEnds(t *testing.T) {
	t.Parallel()
	ended := make(chan struct{})
	big := Frame{Data: bytes.Repeat([]byte("data: x\n"), 128<<10)} // 1 MB
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(ended)
		frames := make(chan Frame)
		go func() {
			for {
				select {
				case frames <- big:
				case <-r.Context().Done():
					return
				}
			}
		}()
		serve(r.Context(), w, frames, 200*time.Millisecond)
	}))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the stream to a client that stopped reading is still being written")
	}
}

// countingMeter counts what a Meter is told.
type countingMeter struct {
	opened, sent, dropped, closed atomic.Int32
}

func (m *countingMeter) Opened(*http.Request) StreamMeter { m.opened.Add(1); return m }
func (m *countingMeter) Sent()                            { m.sent.Add(1) }
func (m *countingMeter) Dropped()                         { m.dropped.Add(1) }
func (m *countingMeter) Closed()                          { m.closed.Add(1) }

func TestTheMeterCountsAStreamsFramesAndItsEnd(t *testing.T) {
	t.Parallel()
	meter := &countingMeter{}
	srv := httptest.NewServer(WithSettings(Settings{Meter: meter})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Stream(w, r, slog.New(slog.DiscardHandler), func(context.Context) (<-chan Frame, error) {
			frames := make(chan Frame, 2)
			frames <- PatchSignals(1, []byte(`{"n":1}`))
			frames <- PatchSignals(2, []byte(`{"n":2}`))
			return frames, nil
		})
	})))
	defer srv.Close()

	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body := bufio.NewReader(res.Body)
	for events := 0; events < 2; {
		line, err := body.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\n" {
			events++
		}
	}
	poll.Until(t, 5*time.Second, "two frames counted as sent", func() bool { return meter.sent.Load() == 2 })
	res.Body.Close()
	poll.Until(t, 5*time.Second, "the stream counted as closed", func() bool { return meter.closed.Load() == 1 })
	if meter.opened.Load() != 1 || meter.dropped.Load() != 0 {
		t.Errorf("opened %d, dropped %d; want 1 and 0", meter.opened.Load(), meter.dropped.Load())
	}
}

// A frame a stream has not written when a newer one comes is dropped, and
// counted so against the stream it was meant for.
func TestTheHubCountsAFrameReplacedUnwrittenAsDropped(t *testing.T) {
	t.Parallel()
	src := &source{chans: map[string]chan int{}}
	hub := NewHub(FromChannel(src.watch), func(v int, _ struct{}) Frame { return Frame{Seq: uint64(v)} })
	meter := &countingMeter{}
	ch, err := hub.Subscribe(context.WithValue(t.Context(), meterKey{}, StreamMeter(meter)), "k", struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	src.send("k", 1)
	poll.Until(t, 5*time.Second, "the first frame offered", func() bool { return len(ch) == 1 })
	src.send("k", 2)
	poll.Until(t, 5*time.Second, "the first frame dropped", func() bool { return meter.dropped.Load() == 1 })
	if f := next(t, ch); f.Seq != 2 {
		t.Errorf("the stream got %d, want the newest, 2", f.Seq)
	}
}
