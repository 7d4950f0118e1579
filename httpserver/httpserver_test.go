package httpserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"ironstar/internal/poll"
)

func TestBudgetDerivesCapsFromTheFDLimit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name           string
		opts           Options
		fdLimit        uint64
		conns, streams int
	}{
		{"half the descriptors, streams three quarters of that", Options{}, 256, 128, 96},
		{"a huge limit is bounded", Options{}, 1 << 20, 1 << 16, 3 << 14},
		{"no limit known", Options{}, 0, 4096, 3072},
		{"set caps win", Options{MaxConns: 10, MaxStreams: 9}, 256, 10, 9},
		{"streams follow a set connection cap", Options{MaxConns: 100}, 256, 100, 75},
		{"streams never outnumber connections", Options{MaxStreams: 500}, 256, 128, 128},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := NewBudget(c.opts, c.fdLimit)
			if b.MaxConns != c.conns || b.MaxStreams != c.streams {
				t.Errorf("NewBudget(%+v, %d) = %d conns, %d streams; want %d, %d", c.opts, c.fdLimit, b.MaxConns, b.MaxStreams, c.conns, c.streams)
			}
		})
	}
	for _, c := range []struct {
		name      string
		opts      Options
		perClient int
	}{
		{"a quarter of the streams by default", Options{}, 24},
		{"a set cap wins", Options{MaxStreamsPerClient: 10}, 10},
		{"never more than the streams", Options{MaxStreamsPerClient: 1000}, 96},
		{"at least one", Options{MaxConns: 2, MaxStreams: 1}, 1},
	} {
		if got := NewBudget(c.opts, 256).MaxStreamsPerClient; got != c.perClient {
			t.Errorf("%s: MaxStreamsPerClient = %d; want %d", c.name, got, c.perClient)
		}
	}
	if NewBudget(Options{}, 256).Overcommitted() {
		t.Error("the derived budget is overcommitted")
	}
	if !NewBudget(Options{MaxConns: 200}, 256).Overcommitted() {
		t.Error("200 connections of 256 descriptors is not reported overcommitted")
	}
}

// serve runs handler on a random port behind the capped listener, with
// the budget's timeouts, until the test ends.
func serve(t *testing.T, b Budget, handler http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	srv := NewServer(handler, b, logger)
	go srv.Serve(Listener(ln, b.MaxConns, logger))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// roundTrip sends one request on c and reads its answer.
func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, request string) *http.Response {
	t.Helper()
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatalf("write request: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

const getOK = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"

func ok(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }

func TestConnectionsPastTheCapGet503WithRetryAfter(t *testing.T) {
	t.Parallel()
	addr := serve(t, Budget{Options: Options{MaxConns: 3, IdleTimeout: time.Minute}}, http.HandlerFunc(ok))

	// Three idle keep-alive connections take every place.
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if res := roundTrip(t, c, bufio.NewReader(c), getOK); res.StatusCode != http.StatusOK {
			t.Fatalf("connection within the cap: %d", res.StatusCode)
		}
		held = append(held, c)
	}
	for range 5 {
		res, err := http.Get("http://" + addr)
		if err != nil {
			t.Fatalf("a connection past the cap got no answer: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "2" || !strings.Contains(string(body), "too many connections") {
			t.Fatalf("past the cap: %d, Retry-After %q, %q; want 503, 2", res.StatusCode, res.Header.Get("Retry-After"), body)
		}
	}
	// A place comes free when a connection closes.
	held[0].Close()
	var err error
	served := poll.Within(10*time.Second, func() bool {
		var res *http.Response
		if res, err = http.Get("http://" + addr); err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	if !served {
		t.Fatalf("no connection served after one closed: %v", err)
	}
}

func TestIdleKeepAliveConnectionsAreClosed(t *testing.T) {
	t.Parallel()
	addr := serve(t, Budget{Options: Options{MaxConns: 10, IdleTimeout: 200 * time.Millisecond}}, http.HandlerFunc(ok))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if res := roundTrip(t, c, r, getOK); res.Close {
		t.Fatal("the server did not keep the connection alive")
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("idle connection: read %v, want EOF (closed by the server)", err)
	}
}

func TestATrickledBodyIsCutAndAReadBodyIsNot(t *testing.T) {
	t.Parallel()
	handlerErrs := make(chan error, 2)
	addr := serve(t, Budget{Options: Options{MaxConns: 10, IdleTimeout: time.Minute, BodyTimeout: 300 * time.Millisecond}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.ReadAll(r.Body); err != nil {
				handlerErrs <- err
				http.Error(w, "body too slow", http.StatusRequestTimeout)
				return
			}
			// Work that outlasts the body timeout after the body was read
			// keeps its context: the deadline went with the body.
			select {
			case <-time.After(600 * time.Millisecond):
				handlerErrs <- nil
				io.WriteString(w, "done")
			case <-r.Context().Done():
				handlerErrs <- r.Context().Err()
			}
		}))

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res := roundTrip(t, c, bufio.NewReader(c), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
	if err := <-handlerErrs; err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("a prompt body with slow work after it: %d, handler saw %v", res.StatusCode, err)
	}

	// A body of 1,000 bytes sent one byte at a time, 50 ms apart (50 s in
	// all): the server stops reading it after the timeout.
	tc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	fmt.Fprintf(tc, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sent := make(chan int, 1)
	go func() {
		n := 0
		defer func() { sent <- n }()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for ; n < 1000; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if _, err := tc.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	select {
	case err := <-handlerErrs:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("handler read the trickled body with %v, want a timeout", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the trickled body was not cut")
	}
	tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, tc) // the server closes the connection
	stop()
	if n := <-sent; n >= 1000 {
		t.Errorf("the whole trickled body was sent (%d bytes) before the cut", n)
	}
}
