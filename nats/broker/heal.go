package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// A stream of the embedded server that fails to write a file (the disk is
// full, the process is out of descriptors) records the error and refuses
// every later write, for as long as the server runs: nats-server keeps the
// error in the stream (mset.werr) and in its file store (fs.werr) and never
// clears either, even once the cause is gone. Publishes to it then go
// unanswered, so every command times out into a 503. On a permission error
// the server even shuts JetStream down. Only recovering the streams from
// disk clears the state, which is what restarting JetStream does: the
// server, its client connections and everything acknowledged stay.

// HealOptions tune a Healer; the zero value is the production setting.
type HealOptions struct {
	// Interval between probes of the server's JetStream health (1 s if 0).
	Interval time.Duration
	// MaxRestarts is how many JetStream restarts in a row may fail to heal
	// the store before Run gives up with an error, so that the process
	// exits and its supervisor starts a fresh one (5 if 0).
	MaxRestarts int
}

// probeBytes is the free room a test write must find in the store
// directory before JetStream is restarted: a restart into a disk that is
// still full only fails again.
const probeBytes = 1 << 20

// Healer watches the embedded server's JetStream and restarts it in-process
// when a stream is stuck on a write error, or JetStream shut itself down,
// once a test write shows the cause is gone. Its Check is a readiness check.
type Healer struct {
	server   *server.Server
	storeDir string // what the server was started with (DataDir/nats)
	opts     HealOptions
	logger   *slog.Logger

	mu     sync.Mutex
	broken error // the last probe's finding; nil when healthy
}

// Healer returns the embedded server's healer, or nil when NATS is
// external: an external server is its operator's to restart, and a
// replicated stream that fails on one node moves its leader elsewhere.
func (c *Conn) Healer(opts HealOptions, logger *slog.Logger) *Healer {
	if c.server == nil {
		return nil
	}
	if opts.Interval == 0 {
		opts.Interval = time.Second
	}
	if opts.MaxRestarts == 0 {
		opts.MaxRestarts = 5
	}
	// The server stores under StoreDir/jetstream; EnableJetStream wants
	// the parent, as the server's options had it.
	return &Healer{
		server:   c.server,
		storeDir: filepath.Dir(c.server.StoreDir()),
		opts:     opts,
		logger:   logger.With("component", "store-healer"),
	}
}

// Check reports the last probe's finding: an error while JetStream cannot
// store (commands cannot succeed), nil otherwise. It does no I/O, so that a
// probe of an overloaded instance answers at once. A nil Healer (external
// NATS) reports nil.
func (h *Healer) Check(context.Context) error {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.broken
}

// Run probes until ctx ends (then it returns nil), restarting JetStream
// when a probe finds it broken and the store directory is writable again.
// It returns an error when MaxRestarts restarts in a row did not heal it.
func (h *Healer) Run(ctx context.Context) error {
	ticker := time.NewTicker(h.opts.Interval)
	defer ticker.Stop()
	var (
		failed     int       // restarts in a row that did not heal
		notBefore  time.Time // no restart before this (back-off)
		waitLogged bool      // "cause still there" said once per outage
	)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		err := h.probe()
		if h.set(err) {
			if err != nil {
				h.logger.Error("jetstream cannot store: commands fail and readiness reports down until it heals", "err", err)
			} else {
				h.logger.Info("jetstream store healed: commands are stored again")
			}
		}
		if err == nil {
			waitLogged = false
			continue
		}
		if time.Now().Before(notBefore) {
			continue
		}
		if werr := canWrite(h.storeDir); werr != nil {
			if !waitLogged {
				h.logger.Warn("jetstream store still cannot write; restarting it once it can", "err", werr)
				waitLogged = true
			}
			continue
		}
		if failed >= h.opts.MaxRestarts {
			return fmt.Errorf("nats: jetstream store did not heal after %d restarts: %w", failed, err)
		}
		h.logger.Warn("restarting jetstream: its streams are recovered from disk, which clears a write error", "attempt", failed+1)
		if rerr := h.restart(); rerr != nil {
			h.logger.Error("restart jetstream", "err", rerr)
		}
		if perr := h.probe(); perr == nil {
			h.set(nil)
			h.logger.Info("jetstream store healed: commands are stored again")
			waitLogged, failed = false, 0
			// A cause that comes straight back costs a restart a second.
			notBefore = time.Now().Add(time.Second)
			continue
		}
		// Still broken: back off, 1 s doubling up to 16 s.
		failed++
		notBefore = time.Now().Add(time.Duration(1<<min(failed-1, 4)) * time.Second)
	}
}

// set records a probe's finding and reports whether it changed between
// healthy and broken.
func (h *Healer) set(err error) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	changed := (h.broken == nil) != (err == nil)
	h.broken = err
	return changed
}

// probe asks the server's own health check, in-process: it reports a
// stream stuck on a write error or JetStream disabled, and writes nothing.
func (h *Healer) probe() error {
	st := h.server.Healthz(&server.HealthzOptions{})
	if st.StatusCode == 200 {
		return nil
	}
	if st.Error == "" {
		return fmt.Errorf("nats: jetstream health %d %s", st.StatusCode, st.Status)
	}
	return errors.New("nats: " + st.Error)
}

// restart recovers every stream from disk, which clears their write
// errors. Clients stay connected; their requests in flight fail and are
// retried as after any JetStream hiccup.
func (h *Healer) restart() error {
	if err := h.server.ShutdownJetStream(); err != nil {
		return fmt.Errorf("shut down jetstream: %w", err)
	}
	// MaxStore is derived again from the disk's free space, as at start.
	if err := h.server.EnableJetStream(&server.JetStreamConfig{StoreDir: h.storeDir}); err != nil {
		return fmt.Errorf("enable jetstream: %w", err)
	}
	return nil
}

// canWrite writes, syncs and removes probeBytes in dir: it fails while the
// disk is full or no descriptor is left.
func canWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".write-probe-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(make([]byte, probeBytes))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
