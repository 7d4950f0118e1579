// Command app is Ironstar's server and its one composition root: it reads
// the config, connects NATS, opens the event store, starts the projections,
// builds the router and serves HTTP until SIGINT or SIGTERM; then, with
// readiness already down, serves on for SHUTDOWN_DELAY (so that a balancer
// stops sending requests first) and shuts down in reverse order within
// shutdownTimeout. `app projections ...` is instead a client of a running
// app's projection operations (see projections.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"ironstar/clientip"
	"ironstar/command"
	"ironstar/config"
	"ironstar/es"
	"ironstar/features"
	"ironstar/features/common/layouts"
	"ironstar/features/feature"
	"ironstar/features/health"
	"ironstar/httpserver"
	"ironstar/logging"
	"ironstar/metrics"
	"ironstar/nats/broker"
	"ironstar/nats/eventstore"
	"ironstar/nats/projection"
	"ironstar/operator"
	"ironstar/router"
	"ironstar/session"
	"ironstar/web/resources"
)

const (
	// shutdownTimeout is the whole budget from the end of the shutdown
	// delay (SHUTDOWN_DELAY) to exit.
	shutdownTimeout = 10 * time.Second
	// natsCloseTimeout is the part of it kept for draining NATS.
	natsCloseTimeout = 2 * time.Second
	// capacityInterval is how often the EVENTS stream's size is checked
	// against its cap (one stream-info request).
	capacityInterval = 10 * time.Second
	// memoryLimit is the Go heap's soft limit unless GOMEMLIMIT sets one
	// ("off" for none). Without it, the GC lets the heap grow to twice what
	// is live: a first start over 1,000,000 events peaked at 1.1 GB of RSS
	// (see "Large histories" in docs/10-performance.md).
	memoryLimit = 256 << 20
)

func main() {
	// The config is read here, not in run, because the shutdown budget
	// below grows by its SHUTDOWN_DELAY.
	cfg, err := config.FromEnv(".env")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ironstar:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if len(os.Args) > 1 && os.Args[1] == "projections" {
		// A client of the running app, not a second one (projections.go).
		code := projectionsCommand(ctx, cfg, os.Args[2:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	go func() {
		// After the first signal, a second one kills the process at once,
		// and so does a shutdown that overruns its budget.
		<-ctx.Done()
		stop()
		time.Sleep(cfg.ShutdownDelay + shutdownTimeout + 2*time.Second)
		fmt.Fprintln(os.Stderr, "ironstar: shutdown overran its budget; exiting")
		os.Exit(1)
	}()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ironstar:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config.Config, logOutput io.Writer) error {
	if err := resources.Built(); err != nil {
		return err
	}
	logger := logging.New(logOutput, cfg.LogFormat, cfg.LogLevel)
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimit)
	}

	// HTTP clients get a share of the descriptors, JetStream's files the rest.
	fdLimit, err := httpserver.RaiseFDLimit()
	if err != nil {
		logger.Warn("read the fd limit; HTTP caps fall back to fixed defaults", "err", err)
	}
	budget := httpserver.NewBudget(httpserver.Options(cfg.HTTP), fdLimit)
	logger.Info("fd budget", budget.LogAttrs()...)
	if budget.Overcommitted() {
		logger.Warn("HTTP_MAX_CONNS leaves JetStream less than half the fd limit", "fd_limit", fdLimit, "max_conns", budget.MaxConns)
	}

	nc, err := broker.Connect(ctx, broker.Options{URL: cfg.NATSURL, DataDir: cfg.DataDir, Port: cfg.NATSPort, Auth: broker.Auth(cfg.NATSAuth)}, logger)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), natsCloseTimeout)
		defer cancel()
		if err := nc.Close(closeCtx); err != nil {
			logger.Error("close nats", "err", err)
		}
	}()

	// draining ends as shutdown begins: readiness turns 503 so that the
	// balancer in front stops sending requests, while the app still serves
	// for SHUTDOWN_DELAY. lifetime ends after that delay, before the HTTP
	// server drains, so that long-lived SSE streams drop and their browsers
	// reconnect through the balancer to another instance.
	draining, beginDraining := context.WithCancel(context.Background())
	defer beginDraining()
	lifetime, endStreams := context.WithCancel(context.Background())
	defer endStreams()

	// The embedded server's healer (nil with an external NATS) restarts its
	// JetStream after a storage failure; meanwhile readiness is down and
	// appends fail at once.
	healer := nc.Healer(broker.HealOptions{}, logger)

	// The event store, the read models and the sessions, all on JetStream.
	store, err := eventstore.New(ctx, nc.JS, eventstore.Config{Replicas: cfg.Replicas, MaxBytes: cfg.Quotas.EventsMaxBytes, Writable: healer.Check})
	if err != nil {
		return err
	}
	snapshots, err := eventstore.NewSnapshots(ctx, nc.JS, cfg.Replicas)
	if err != nil {
		return err
	}
	// The app is its feature list (package features): each registers its
	// event types, then mounts its read models and routes.
	all := features.All()
	registry := es.NewRegistry()
	for _, f := range all {
		if f.Register != nil {
			f.Register(registry)
		}
	}
	clients := clientip.New(cfg.TrustedProxies)
	sessions, err := session.NewStore(ctx, nc.JS, session.Options{
		TTL: cfg.SessionTTL, Replicas: cfg.Replicas, Key: []byte(cfg.SessionKey), Clients: clients,
	}, logger)
	if err != nil {
		return err
	}
	// The metrics exist only when METRICS_ADDR is set: without it nothing
	// is counted at all.
	var measured *metrics.Metrics
	if cfg.MetricsAddr != "" {
		names := make([]string, len(all))
		for i, f := range all {
			names[i] = f.Name
		}
		measured = metrics.New(names)
	}
	app := &feature.App{
		Logger: logger, Lifetime: lifetime, DataDir: cfg.DataDir, JS: nc.JS,
		Events: store, Registry: registry,
		// Every feature's command handlers store through this, snapshots included.
		Storage:  es.Storage{Store: store, Snapshots: snapshots, Registry: registry, SnapshotEvery: cfg.SnapshotEvery, Logger: logger, CacheSize: aggregateCache(cfg.AggregateCache)},
		Sessions: sessions,
		// Each session's and each client address's budget of commands
		// and bytes, in this process.
		Quota: command.NewQuota(command.QuotaOptions{
			Session: command.Rates{CommandsPerMinute: cfg.Quotas.SessionWriteRate, Burst: cfg.Quotas.SessionWriteBurst, BytesPerMinute: cfg.Quotas.SessionWriteBytes},
			Client:  command.Rates{CommandsPerMinute: cfg.Quotas.ClientWriteRate, Burst: cfg.Quotas.ClientWriteBurst, BytesPerMinute: cfg.Quotas.ClientWriteBytes},
		}, logger),
		// All sessions' commands together, in this process.
		Admission: command.NewAdmission(command.AdmissionOptions{
			MaxInFlight: cfg.Admission.MaxInFlight, MaxQueued: cfg.Admission.MaxQueued, QueueTimeout: cfg.Admission.QueueTimeout,
		}, logger),
		Projection: projection.Options{Replicas: cfg.Replicas, Logger: logger},
		History:    feature.Histories(all),
	}
	if measured != nil {
		app.Storage.Observer = measured.Commands
	}
	// What the features started stops together, before NATS closes.
	defer app.Close(natsCloseTimeout)
	var nav []layouts.NavLink
	var mounted []router.Mounted
	for _, f := range all {
		r, err := f.Mount(ctx, app)
		if err != nil {
			return fmt.Errorf("feature %s: %w", f.Name, err)
		}
		mounted = append(mounted, router.Mounted{Name: f.Name, Operator: f.Operator, Routes: r})
		if f.Nav != nil {
			nav = append(nav, *f.Nav)
		}
	}

	ready := []health.Check{{Name: "nats", Check: nc.Ready}}
	ready = append(ready, app.Checks()...)
	if healer != nil {
		ready = append(ready, health.Check{Name: "store", Check: healer.Check})
	}
	if measured != nil {
		measured.WatchNATS(nc.NC, nc.JS)
		measured.WatchProjections(app.Projections())
	}
	gate := operator.NewGate(cfg.AdminToken, cfg.Dev, clients)
	logger.Info("operator routes", "exist", gate.Enabled(), "sign_in", gate.SignIn())
	handler := router.New(router.Deps{
		Logger: logger, Lifetime: lifetime, Draining: draining, Ready: ready, Dev: cfg.Dev, LogAllRequests: cfg.LogAllRequests, Heartbeat: cfg.Heartbeat,
		MaxStreams: budget.MaxStreams, MaxStreamsPerSession: budget.MaxStreamsPerSession, MaxStreamsPerClient: budget.MaxStreamsPerClient,
		Clients: clients, Metrics: measured, Operator: gate, Nav: nav, Features: mounted,
	})

	listener, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s (HOST, PORT): %w", cfg.Addr(), err)
	}
	// Bound before the "listening" line, so that /metrics answers as soon
	// as the app does.
	var metricsListener net.Listener
	if measured != nil {
		metricsListener, err = net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			listener.Close()
			return fmt.Errorf("listen on %s (METRICS_ADDR): %w", cfg.MetricsAddr, err)
		}
		logger.Info("metrics", "url", "http://"+metricsListener.Addr().String()+"/metrics")
	}
	srv := httpserver.NewServer(handler, budget, logger)
	logger.Info("listening", "url", "http://"+listener.Addr().String(), "dev", cfg.Dev, "nats_embedded", cfg.Embedded())

	g, gctx := errgroup.WithContext(ctx)
	if cfg.PprofAddr != "" {
		profiler := httpserver.Profiler(cfg.PprofAddr)
		logger.Info("profiler", "url", "http://"+profiler.Addr+"/debug/pprof/")
		g.Go(func() error {
			if err := profiler.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("profiler on %s (PPROF_ADDR): %w", profiler.Addr, err)
			}
			return nil
		})
		context.AfterFunc(gctx, func() { profiler.Close() })
	}
	if metricsListener != nil {
		metricsServer := metrics.Server(measured.Registry)
		g.Go(func() error {
			if err := metricsServer.Serve(metricsListener); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("metrics on %s (METRICS_ADDR): %w", cfg.MetricsAddr, err)
			}
			return nil
		})
		context.AfterFunc(gctx, func() { metricsServer.Close() })
	}
	if healer != nil {
		// A store that cannot be healed in-process ends the process
		// (non-zero exit) for its supervisor to start afresh.
		g.Go(func() error { return healer.Run(gctx) })
	}
	g.Go(func() error {
		store.WatchCapacity(gctx, capacityInterval, float64(cfg.Quotas.EventsWarnPercent)/100, logger)
		return nil
	})
	g.Go(func() error {
		if err := srv.Serve(httpserver.Listener(listener, budget.MaxConns, logger)); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		beginDraining()
		logger.Info("shutting down", "delay", cfg.ShutdownDelay)
		time.Sleep(cfg.ShutdownDelay) // serving on, readiness down
		endStreams()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout-natsCloseTimeout)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	})
	if err := g.Wait(); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

// aggregateCache is es.Storage.CacheSize for AGGREGATE_CACHE, whose 0
// means none (es's 0 means its default).
func aggregateCache(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
