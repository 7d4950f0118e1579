package sse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
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
