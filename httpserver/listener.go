package httpserver

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// retryAfter is the Retry-After, in seconds, of a connection refused at the
// cap.
const retryAfter = 2

// tooBusy is the whole answer to a connection over the cap, written before
// its request is read: the request does not matter.
var tooBusy = func() []byte {
	const body = "too many connections, retry shortly\n"
	return []byte("HTTP/1.1 503 Service Unavailable\r\n" +
		"Retry-After: " + strconv.Itoa(retryAfter) + "\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"X-Content-Type-Options: nosniff\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Connection: close\r\n\r\n" + body)
}()

// rejectTimeout bounds how long refusing one connection holds its
// descriptor.
const rejectTimeout = time.Second

// rejecting is how many connections over the cap may be answering their 503
// at once; past that they are closed without an answer, so that refusing
// costs a bounded number of descriptors too.
func rejecting(maxConns int) int { return max(8, min(64, maxConns/16)) }

// Listener wraps l so that at most maxConns connections are open at once. A
// connection past the cap gets a 503 with Retry-After and is closed, without
// reaching the server: refusing it takes one descriptor for at most a
// second, while serving it could take one for as long as the client likes.
func Listener(l net.Listener, maxConns int, logger *slog.Logger) net.Listener {
	return &listener{Listener: l, max: int64(maxConns), rejectSlots: make(chan struct{}, rejecting(maxConns)), logger: logger}
}

type listener struct {
	net.Listener
	max         int64
	open        atomic.Int64
	rejectSlots chan struct{}
	logger      *slog.Logger
	lastWarn    atomic.Int64 // unix nanoseconds of the last cap warning
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) <= l.max {
			return &conn{Conn: c, l: l}, nil
		}
		l.open.Add(-1)
		l.refuse(c)
	}
}

// refuse answers c's request with tooBusy, if a reject slot is free, and
// closes it.
func (l *listener) refuse(c net.Conn) {
	if now := time.Now().UnixNano(); now-l.lastWarn.Load() > int64(10*time.Second) {
		l.lastWarn.Store(now)
		l.logger.Warn("connection cap reached: refusing connections with 503", "max_conns", l.max)
	}
	select {
	case l.rejectSlots <- struct{}{}:
	default:
		c.Close()
		return
	}
	go func() {
		defer func() { <-l.rejectSlots }()
		defer c.Close()
		c.SetDeadline(time.Now().Add(rejectTimeout))
		// Clients take an answer before their request for a stray, so the
		// request's head is read first, and nothing else of it.
		if !readHead(c) {
			return
		}
		if _, err := c.Write(tooBusy); err != nil {
			return
		}
		// Half-close, then read what the client still sends until it closes:
		// closing with unread bytes would reset the connection, and the
		// client could lose the answer.
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}()
}

// readHead reads from c until the end of a request's head, or 8 KB of
// it; it reports whether the client sent that much before failing.
func readHead(c net.Conn) bool {
	buf := make([]byte, 0, 8<<10)
	for len(buf) < cap(buf) {
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if bytes.Contains(buf, []byte("\r\n\r\n")) {
			return true
		}
		if err != nil {
			return false
		}
	}
	return true
}

// conn gives its place back when closed.
type conn struct {
	net.Conn
	l    *listener
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}

// ReadFrom keeps sendfile for static files: net/http looks for it on the
// connection, which the wrapper would otherwise hide.
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(c.Conn, r)
}

// CloseWrite lets net/http half-close, as it does on the bare connection.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
