// Package broker connects Ironstar to NATS: it starts the embedded server
// with JetStream file storage under the data directory, or dials an
// external server or cluster, and hands out the connection and its
// JetStream context. Only the composition root (and tests) import it, so
// nothing else links nats-server; helpers the rest of the app uses live in
// package jetstreamx.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options says where NATS is. An empty URL starts the embedded server.
type Options struct {
	// URL lists external servers (comma-separated); empty means embedded.
	URL string
	// DataDir is the parent of the embedded server's store (DataDir/nats).
	DataDir string
	// Port, when non-zero, lets the embedded server accept TCP clients on
	// 127.0.0.1:Port; zero keeps it reachable in-process only.
	Port int
	// ReadyTimeout bounds the wait for the embedded server to start.
	ReadyTimeout time.Duration
	// Auth is how to prove ourselves to an external server.
	Auth Auth
}

// Auth holds an external server's credentials and TLS files; at most one
// kind of credentials is set (config checks).
type Auth struct {
	CredsFile string
	NKeyFile  string
	Token     string
	User      string
	Password  string
	TLSCA     string
	TLSCert   string
	TLSKey    string
}

// options turns Auth into client options.
func (a Auth) options() ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case a.CredsFile != "":
		opts = append(opts, nats.UserCredentials(a.CredsFile))
	case a.NKeyFile != "":
		opt, err := nats.NkeyOptionFromSeed(a.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats: NKey seed: %w", err)
		}
		opts = append(opts, opt)
	case a.Token != "":
		opts = append(opts, nats.Token(a.Token))
	case a.User != "":
		opts = append(opts, nats.UserInfo(a.User, a.Password))
	}
	if a.TLSCA != "" {
		opts = append(opts, nats.RootCAs(a.TLSCA))
	}
	if a.TLSCert != "" {
		opts = append(opts, nats.ClientCert(a.TLSCert, a.TLSKey))
	}
	return opts, nil
}

// Conn is a live NATS connection with JetStream and, when embedded, the
// server behind it. Close it to drain the connection and stop the server.
type Conn struct {
	NC     *nats.Conn
	JS     jetstream.JetStream
	server *server.Server
	url    string
	closed chan struct{}
}

// Connect starts the embedded server (or dials the external one) and checks
// that JetStream answers.
func Connect(ctx context.Context, opts Options, logger *slog.Logger) (*Conn, error) {
	c := &Conn{closed: make(chan struct{})}
	clientOpts := []nats.Option{
		nats.Name("ironstar"),
		nats.ClosedHandler(func(*nats.Conn) { close(c.closed) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
		}),
	}

	url := opts.URL
	if url == "" {
		ns, err := startEmbedded(opts, logger)
		if err != nil {
			return nil, err
		}
		c.server = ns
		url = ns.ClientURL()
		clientOpts = append(clientOpts, nats.InProcessServer(ns))
	} else {
		auth, err := opts.Auth.options()
		if err != nil {
			return nil, err
		}
		clientOpts = append(append(clientOpts, nats.MaxReconnects(-1)), auth...)
	}

	c.url = url
	nc, err := nats.Connect(url, clientOpts...)
	if err != nil {
		c.shutdownServer()
		return nil, fmt.Errorf("nats: connect: %w", err)
	}
	c.NC = nc
	// Requests without a deadline of their own wait the client's default
	// 5 s; creating streams and buckets retries on its own (nats/ensure).
	if c.JS, err = jetstream.New(nc); err != nil {
		nc.Close()
		c.shutdownServer()
		return nil, fmt.Errorf("nats: jetstream: %w", err)
	}
	if err := c.waitReady(ctx, opts.ReadyTimeout, logger); err != nil {
		nc.Close()
		c.shutdownServer()
		return nil, err
	}
	return c, nil
}

// waitReady waits for JetStream to answer: a cluster that is starting too
// has no meta leader for a few seconds, and the app should wait, not fail.
func (c *Conn) waitReady(ctx context.Context, timeout time.Duration, logger *slog.Logger) error {
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		err := c.Ready(attempt)
		cancelAttempt()
		if err == nil {
			return nil
		}
		logger.Info("waiting for jetstream", "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up after %s)", err, timeout)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func startEmbedded(opts Options, logger *slog.Logger) (*server.Server, error) {
	storeDir := filepath.Join(opts.DataDir, "nats")
	if err := os.MkdirAll(storeDir, 0o750); err != nil {
		return nil, fmt.Errorf("nats: create store dir: %w", err)
	}
	serverOpts := &server.Options{
		ServerName: "ironstar",
		JetStream:  true,
		StoreDir:   storeDir,
		// The app owns signal handling and shutdown order.
		NoSigs: true,
	}
	if opts.Port == 0 {
		serverOpts.DontListen = true
	} else {
		serverOpts.Host = "127.0.0.1"
		serverOpts.Port = opts.Port
	}
	ns, err := server.NewServer(serverOpts)
	if err != nil {
		return nil, fmt.Errorf("nats: embedded server: %w", err)
	}
	ns.SetLoggerV2(serverLogger{logger.With("component", "nats-server")}, false, false, false)
	ns.Start()
	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	if !ns.ReadyForConnections(timeout) {
		ns.Shutdown()
		return nil, fmt.Errorf("nats: embedded server not ready after %s (store %s)", timeout, storeDir)
	}
	logger.Info("embedded nats started", "store", storeDir, "listen", opts.Port != 0)
	return ns, nil
}

// NewClient opens another connection to the same NATS, e.g. to act as a
// second app instance in a test. The caller closes it.
func (c *Conn) NewClient(name string) (*nats.Conn, jetstream.JetStream, error) {
	opts := []nats.Option{nats.Name(name)}
	if c.server != nil {
		opts = append(opts, nats.InProcessServer(c.server))
	}
	nc, err := nats.Connect(c.url, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("nats: connect %s: %w", name, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// Ready reports whether the connection is up and JetStream answers; it is
// what /health/ready asks.
func (c *Conn) Ready(ctx context.Context) error {
	if !c.NC.IsConnected() {
		return errors.New("nats: not connected")
	}
	if _, err := c.JS.AccountInfo(ctx); err != nil {
		return fmt.Errorf("nats: jetstream not answering: %w", err)
	}
	return nil
}

// Close drains the connection (pending publishes and subscriptions finish)
// and then stops the embedded server, giving up when ctx ends.
func (c *Conn) Close(ctx context.Context) error {
	var err error
	if drainErr := c.NC.Drain(); drainErr != nil {
		c.NC.Close()
		err = fmt.Errorf("nats: drain: %w", drainErr)
	} else {
		select {
		case <-c.closed:
		case <-ctx.Done():
			c.NC.Close()
			err = fmt.Errorf("nats: drain: %w", ctx.Err())
		}
	}
	c.shutdownServer()
	return err
}

func (c *Conn) shutdownServer() {
	if c.server != nil {
		c.server.Shutdown()
		c.server.WaitForShutdown()
	}
}

// serverLogger sends the embedded server's log lines to slog. Notices (the
// start-up banner, mostly) go to debug so that info stays about the app.
type serverLogger struct{ l *slog.Logger }

func (s serverLogger) Noticef(f string, v ...any) { s.l.Debug(fmt.Sprintf(f, v...)) }
func (s serverLogger) Warnf(f string, v ...any)   { s.l.Warn(fmt.Sprintf(f, v...)) }
func (s serverLogger) Fatalf(f string, v ...any)  { s.l.Error(fmt.Sprintf(f, v...)) }
func (s serverLogger) Errorf(f string, v ...any)  { s.l.Error(fmt.Sprintf(f, v...)) }
func (s serverLogger) Debugf(f string, v ...any)  { s.l.Debug(fmt.Sprintf(f, v...)) }
func (s serverLogger) Tracef(f string, v ...any)  { s.l.Debug(fmt.Sprintf(f, v...)) }
