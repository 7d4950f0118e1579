//ironstar:needs analytics

// Command analytics is the analytics engine: it copies every event into
// DuckDB, runs the dashboard's queries and publishes the result to NATS,
// where the web app's analytics page follows it (see package
// features/analytics/engine). It is the one binary that needs cgo and a
// C/C++ toolchain; the web app (cmd/app) stays pure Go.
//
// It reads the app's settings (.env and the environment): NATS_URL, or
// else the app's embedded server at 127.0.0.1:NATS_PORT (4222 if unset);
// DATA_DIR for its DuckDB file (DATA_DIR/analytics.duckdb); NATS_REPLICAS;
// LOG_LEVEL and LOG_FORMAT; METRICS_ADDR to serve its metrics, an
// address of its own (`go tool task run` clears it for the engine, which
// reads the app's .env). Several may run against one NATS: one publishes,
// the others stand by with their copies current.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ironstar/config"
	"ironstar/features/analytics/engine"
	"ironstar/logging"
	"ironstar/metrics"
	"ironstar/nats/broker"
	"ironstar/nats/eventstore"
)

// defaultNATSPort is where the engine looks for the app's embedded NATS
// server when neither NATS_URL nor NATS_PORT says (go tool task run starts
// the app with NATS_PORT=4222).
const defaultNATSPort = 4222

// connectRetry is how often it tries NATS again while it is not there
// (the app starting beside it, say).
const connectRetry = time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "analytics:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := config.FromEnv(".env")
	if err != nil {
		return err
	}
	logger := logging.New(os.Stdout, cfg.LogFormat, cfg.LogLevel).With("process", "analytics")
	url := cfg.NATSURL
	if url == "" {
		port := cfg.NATSPort
		if port == 0 {
			port = defaultNATSPort
		}
		url = "nats://127.0.0.1:" + strconv.Itoa(port)
	}
	var nc *broker.Conn
	for attempt := 0; ; attempt++ {
		nc, err = broker.Connect(ctx, broker.Options{URL: url, Auth: broker.Auth(cfg.NATSAuth)}, logger)
		if err == nil {
			break
		}
		level := slog.LevelDebug // said once; the app may just be starting
		if attempt == 0 {
			level = slog.LevelInfo
		}
		logger.Log(ctx, level, "waiting for NATS (the app, with NATS_PORT set, or NATS_URL)", "url", url, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(connectRetry):
		}
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = nc.Close(closeCtx)
	}()
	host, _ := os.Hostname()
	holder := fmt.Sprintf("%s:%d", host, os.Getpid())
	logger.Info("analytics engine started", "nats", url, "data_dir", cfg.DataDir, "holder", holder)
	engineCfg := engine.Config{
		JS: nc.JS, Events: eventstore.Open(nc.JS), DataDir: cfg.DataDir, Replicas: cfg.Replicas, Holder: holder, Logger: logger,
	}
	if cfg.MetricsAddr != "" {
		reg := metrics.NewRegistry()
		engineCfg.Metrics = reg
		stop, err := serveMetrics(reg, cfg.MetricsAddr, logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	return engine.Run(ctx, engineCfg)
}

// serveMetrics serves reg at METRICS_ADDR until stop is called. A failure
// once listening is logged: the engine goes on without its metrics.
func serveMetrics(reg *prometheus.Registry, addr string, logger *slog.Logger) (stop func(), err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (METRICS_ADDR): %w", addr, err)
	}
	logger.Info("metrics", "url", "http://"+l.Addr().String()+"/metrics")
	srv := metrics.Server(reg)
	go func() {
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics", "addr", addr, "err", err)
		}
	}()
	return func() { srv.Close() }, nil
}
