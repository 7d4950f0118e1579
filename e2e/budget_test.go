package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startWithFDLimit starts the production binary under `ulimit -n limit`,
// the hard limit included, so that the app cannot raise it.
func startWithFDLimit(t *testing.T, limit int, env ...string) *app {
	t.Helper()
	script := filepath.Join(t.TempDir(), "app-ulimit")
	body := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = check ] && exit 0\nulimit -n %d || exit 1\nexec %s\n", limit, prodBin)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	// A process forked by a parallel test while the script was open for
	// writing holds it until it execs, and until then running the script
	// fails with "text file busy": wait for that to pass.
	waitFor(t, 10*time.Second, "the script to be executable", func() bool {
		return exec.Command(script, "check").Run() == nil
	})
	return startApp(t, appOptions{bin: script, env: env})
}

// checkBudgetLine fails unless the app logged the budget it derived.
func checkBudgetLine(t *testing.T, a *app, want ...string) {
	t.Helper()
	for line := range strings.Lines(a.logs.String()) {
		if strings.Contains(line, "msg=\"fd budget\"") {
			for _, w := range want {
				if !strings.Contains(line, w) {
					t.Errorf("budget line lacks %s: %s", w, line)
				}
			}
			return
		}
	}
	t.Fatalf("no budget line in the log:\n%s", a.logs.String())
}

// sessionClient is a client on its own transport, so that its connections
// are its own to count.
func sessionClient(t *testing.T, base string, transport *http.Transport) *client {
	t.Helper()
	t.Cleanup(transport.CloseIdleConnections)
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, base: base, http: &http.Client{Jar: jar, Transport: transport, Timeout: 10 * time.Second}}
	c.startSession()
	return c
}

// keepAlive opens a connection, completes one request on it and leaves it
// open and idle, as a browser's keep-alive connection is.
func keepAlive(t *testing.T, a *app) (net.Conn, int) {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+a.Port)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("keep-alive request: %v", err)
	}
	io.Copy(io.Discard, res.Body)
	return c, res.StatusCode
}

// refused checks that a new connection gets 503 with Retry-After.
func refused(t *testing.T, a *app) {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+a.Port)
	if err != nil {
		t.Fatalf("dial past the cap: %v", err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("a connection past the cap got no answer: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("a connection past the cap got %d, Retry-After %q; want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
}

// TestConnectionsPastTheCapAre503AndJetStreamKeepsWorking holds every
// connection the budget allows at a 256 fd limit, idle as keep-alive
// connections are: more get 503 with Retry-After, and commands on a held
// connection still land, because JetStream kept its half of the
// descriptors.
//
//ironstar:needs todo
func TestConnectionsPastTheCapAre503AndJetStreamKeepsWorking(t *testing.T) {
	t.Parallel()
	a := startWithFDLimit(t, 256, "HTTP_IDLE_TIMEOUT=10m")
	checkBudgetLine(t, a, "fd_limit=256", "max_conns=128", "max_streams=96", "max_streams_per_session=16")

	// One connection for a session's commands, 127 idle ones: the cap.
	c := sessionClient(t, a.URL, &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1})
	var held []net.Conn
	for i := range 127 {
		conn, status := keepAlive(t, a)
		if status != http.StatusOK {
			t.Fatalf("connection %d of 128 = %d, want 200", i+2, status)
		}
		held = append(held, conn)
	}
	for range 20 {
		refused(t, a)
	}

	for i := range 5 {
		if res, body := c.command(http.MethodPost, "/todos", fmt.Sprintf(`{"title":"while full %d"}`, i)); res.StatusCode != http.StatusOK {
			t.Fatalf("add while every connection is taken = %d %s", res.StatusCode, body)
		}
	}
	c.waitTodos("while full 0", "while full 1", "while full 2", "while full 3", "while full 4")
	if res, body := c.do(http.MethodGet, "/health/ready", "", nil); res.StatusCode != http.StatusOK {
		t.Errorf("ready while every connection is taken = %d %s", res.StatusCode, body)
	}

	// The places come back when the connections close.
	for _, conn := range held {
		conn.Close()
	}
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	waitFor(t, 10*time.Second, "a new connection to be served", func() bool {
		res, err := fresh.Get(a.URL + "/health/ready")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	for _, bad := range []string{"too many open files", "critical write error", "status=500"} {
		if strings.Contains(a.logs.String(), bad) {
			t.Errorf("the log mentions %q", bad)
		}
	}
	if !strings.Contains(a.logs.String(), "connection cap reached") {
		t.Error("the log does not say the connection cap was reached")
	}
}

// streamHolder opens SSE streams and keeps them open until the test ends.
type streamHolder struct {
	t      *testing.T
	client *http.Client
	mu     sync.Mutex
	closes []context.CancelFunc
}

func newStreamHolder(t *testing.T, jar http.CookieJar) *streamHolder {
	t.Helper()
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	h := &streamHolder{t: t, client: &http.Client{Jar: jar, Transport: transport}}
	t.Cleanup(h.closeAll)
	return h
}

// open opens a stream and, if it is served, waits for its first frame (by
// then its place is taken). It returns the status and Retry-After.
func (h *streamHolder) open(url string) (int, string) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Datastar-Request", "true")
	res, err := h.client.Do(req)
	if err != nil {
		cancel()
		h.t.Fatalf("GET %s: %v", url, err)
	}
	if res.StatusCode != http.StatusOK {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		cancel()
		return res.StatusCode, res.Header.Get("Retry-After")
	}
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "event: ") {
		h.t.Fatalf("GET %s: first line %q, %v", url, line, err)
	}
	h.mu.Lock()
	h.closes = append(h.closes, func() { cancel(); res.Body.Close() })
	h.mu.Unlock()
	return res.StatusCode, ""
}

func (h *streamHolder) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.closes {
		c()
	}
	h.closes = nil
}

// TestStreamsPastTheCapsAre503 opens SSE streams at a 256 fd limit (96
// streams, 16 per session): a session's 17th and the process's 97th get
// 503 with Retry-After, while commands still land; closed streams give
// their places back.
//
//ironstar:needs todo monitor
func TestStreamsPastTheCapsAre503(t *testing.T) {
	t.Parallel()
	a := startWithFDLimit(t, 256)
	alice := sessionClient(t, a.URL, &http.Transport{})
	bob := sessionClient(t, a.URL, &http.Transport{})

	aliceStreams := newStreamHolder(t, alice.http.Jar)
	for i := range 16 {
		if status, _ := aliceStreams.open(a.URL + "/todos/updates"); status != http.StatusOK {
			t.Fatalf("alice's stream %d = %d, want 200", i+1, status)
		}
	}
	if status, retry := aliceStreams.open(a.URL + "/todos/updates"); status != http.StatusServiceUnavailable || retry == "" {
		t.Fatalf("alice's 17th stream = %d, Retry-After %q; want 503 with Retry-After", status, retry)
	}

	// Streams of pages without a session count against the process's cap.
	anonymous := newStreamHolder(t, nil)
	for i := range 80 {
		if status, _ := anonymous.open(a.URL + "/monitor/updates"); status != http.StatusOK {
			t.Fatalf("stream %d of 96 = %d, want 200", 17+i, status)
		}
	}
	bobStreams := newStreamHolder(t, bob.http.Jar)
	if status, retry := bobStreams.open(a.URL + "/todos/updates"); status != http.StatusServiceUnavailable || retry == "" {
		t.Fatalf("the 97th stream = %d, Retry-After %q; want 503 with Retry-After", status, retry)
	}

	// Commands and pages are still served, and JetStream still stores.
	if res, body := bob.command(http.MethodPost, "/todos", `{"title":"while streams are full"}`); res.StatusCode != http.StatusOK {
		t.Fatalf("add while every stream place is taken = %d %s", res.StatusCode, body)
	}
	bob.waitTodos("while streams are full")

	aliceStreams.closeAll()
	waitFor(t, 10*time.Second, "a stream place to come free", func() bool {
		status, _ := bobStreams.open(a.URL + "/todos/updates")
		return status == http.StatusOK
	})
	if strings.Contains(a.logs.String(), "too many open files") {
		t.Error("the log mentions too many open files")
	}
}

// TestIdleConnectionsAreCut: an idle keep-alive connection is closed after
// HTTP_IDLE_TIMEOUT.
func TestIdleConnectionsAreCut(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{env: []string{"HTTP_IDLE_TIMEOUT=1s"}})

	idle, status := keepAlive(t, a)
	if status != http.StatusOK {
		t.Fatalf("GET /health/live = %d", status)
	}
	idleSince := time.Now()
	idle.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("an idle keep-alive connection: read %d bytes, %v; want EOF (closed by the server)", n, err)
	}
	t.Logf("the idle connection was closed after %s", time.Since(idleSince).Round(10*time.Millisecond))
}

// TestTrickledBodiesAreCut: a command's body trickled a byte at a time is
// cut after HTTP_BODY_TIMEOUT without storing anything.
//
//ironstar:needs todo
func TestTrickledBodiesAreCut(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{env: []string{"HTTP_BODY_TIMEOUT=1s"}})
	c := sessionClient(t, a.URL, &http.Transport{})
	conn, err := net.Dial("tcp", "127.0.0.1:"+a.Port)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// 200 bytes at one per 100 ms would take 20 s.
	body := `{"title":"` + strings.Repeat("x", 188) + `"}`
	var cookies []string
	for _, ck := range c.http.Jar.Cookies(mustURL(t, a.URL)) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	fmt.Fprintf(conn, "POST /todos HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nCookie: %s\r\nDatastar-Request: true\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		a.Port, strings.Join(cookies, "; "), len(body))
	started := time.Now()
	cut := make(chan struct{})
	go func() {
		defer close(cut)
		conn.SetReadDeadline(time.Now().Add(60 * time.Second))
		io.Copy(io.Discard, conn) // returns when the server closes the connection
	}()
	sent := 0
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
trickle:
	for ; sent < len(body); sent++ {
		select {
		case <-cut:
			break trickle
		case <-tick.C:
		}
		if _, err := conn.Write([]byte{body[sent]}); err != nil {
			break
		}
	}
	<-cut
	t.Logf("the server cut the body after %d of %d bytes, %s after the headers", sent, len(body), time.Since(started).Round(10*time.Millisecond))
	if sent >= len(body)/2 {
		t.Errorf("the server read %d of %d trickled bytes before cutting the body", sent, len(body))
	}
	if got := c.todos(); len(got) != 0 {
		t.Errorf("a cut body stored %q", got)
	}
}
