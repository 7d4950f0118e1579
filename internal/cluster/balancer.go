package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Balancer is a small HTTP load balancer for app instances: each request
// goes to the backend with the fewest requests in flight (long-lived SSE
// streams count until they end), and a request whose backend refuses the
// connection is sent to the next one. That is all a stopped instance needs:
// its browsers' streams end, Datastar reconnects through the balancer with
// Last-Event-ID, and lands on an instance that is up.
type Balancer struct {
	backends []*backend
	proxy    *httputil.ReverseProxy
	logger   *slog.Logger
}

type backend struct {
	host      string // host:port
	active    atomic.Int64
	downUntil atomic.Int64 // unix nanoseconds
}

// maxBody bounds the request bodies the balancer buffers (to resend them to
// another backend); the app refuses far smaller ones.
const maxBody = 1 << 20

// downFor is how long a backend that refused a connection is skipped.
const downFor = time.Second

// NewBalancer balances over backends given as host:port.
func NewBalancer(backends []string, logger *slog.Logger) *Balancer {
	b := &Balancer{logger: logger}
	for _, host := range backends {
		b.backends = append(b.backends, &backend{host: host})
	}
	b.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.Host = pr.In.Host // the app checks Origin against Host
			pr.SetXForwarded()
		},
		Transport: transport{b},
		// A stream cut by an instance that stops is expected, not news.
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger.Warn("balancer", "path", r.URL.Path, "err", err)
			http.Error(w, "no app instance answers", http.StatusBadGateway)
		},
	}
	return b
}

// ServeHTTP implements http.Handler.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.proxy.ServeHTTP(w, r)
}

// Active reports the requests in flight per backend.
func (b *Balancer) Active() map[string]int64 {
	out := make(map[string]int64, len(b.backends))
	for _, be := range b.backends {
		out[be.host] = be.active.Load()
	}
	return out
}

// order lists the backends to try: those up before those recently down,
// fewest requests in flight first, ties in configuration order.
func (b *Balancer) order() []*backend {
	now := time.Now().UnixNano()
	out := slices.Clone(b.backends)
	slices.SortStableFunc(out, func(x, y *backend) int {
		xDown, yDown := x.downUntil.Load() > now, y.downUntil.Load() > now
		switch {
		case xDown != yDown:
			if xDown {
				return 1
			}
			return -1
		default:
			return int(x.active.Load() - y.active.Load())
		}
	})
	return out
}

// transport sends a request to one backend after another until one accepts
// the connection.
type transport struct{ b *Balancer }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		data, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		if len(data) > maxBody {
			return &http.Response{StatusCode: http.StatusRequestEntityTooLarge, Body: http.NoBody, Request: req, Header: http.Header{}}, nil
		}
		body = data
	}
	var errs []error
	for _, be := range t.b.order() {
		out := req.Clone(req.Context())
		out.URL.Host = be.host
		if body != nil {
			out.Body = io.NopCloser(bytes.NewReader(body))
			out.ContentLength = int64(len(body))
		}
		be.active.Add(1)
		res, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			be.active.Add(-1)
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" {
				be.downUntil.Store(time.Now().Add(downFor).UnixNano())
				errs = append(errs, err)
				continue // nothing reached that backend: the next may serve it
			}
			return nil, err
		}
		res.Body = &releasingBody{ReadCloser: res.Body, release: func() { be.active.Add(-1) }}
		res.Header.Set("X-Ironstar-Backend", be.host)
		return res, nil
	}
	return nil, fmt.Errorf("every backend refused: %w", errors.Join(errs...))
}

// releasingBody counts a request as in flight until its response body is
// closed.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (r *releasingBody) Close() error {
	r.once.Do(r.release)
	return r.ReadCloser.Close()
}
