// Command cluster runs Ironstar the way it scales out, on one machine: a
// three-node NATS JetStream cluster on 127.0.0.1 (data in a temporary
// directory), two app instances pointed at it with replicas 3, Caddy in
// front of them on the repository's Caddyfile (deploy/Caddyfile, the one
// deploy/compose.yaml runs), and what runs once per cluster beside the
// instances: in an app with the analytics example, two analytics engines,
// one active and one standing by (it logs which is active whenever that
// changes). It expects bin/nats-server, bin/caddy, bin/app and the other
// binaries (`go tool task cluster` builds them) and stops everything on
// Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"ironstar/internal/cluster"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address of Caddy in front of the app instances")
	apps := flag.String("apps", "8081,8082", "HTTP ports of the app instances")
	natsPorts := flag.String("nats", "14222,14223,14224", "client ports of the NATS nodes")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *listen, ports(*apps), ports(*natsPorts), logger); err != nil {
		logger.Error("cluster", "err", err)
		os.Exit(1)
	}
}

func ports(list string) []int {
	var out []int
	for _, s := range strings.Split(list, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fmt.Fprintf(os.Stderr, "not a port: %q\n", s)
			os.Exit(2)
		}
		out = append(out, p)
	}
	return out
}

func run(ctx context.Context, listen string, appPorts, natsPorts []int, logger *slog.Logger) error {
	dir, err := os.MkdirTemp("", "ironstar-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	nc, err := cluster.StartNATS(ctx, cluster.NATSOptions{
		Bin: "bin/nats-server", Dir: dir, ClientPorts: natsPorts, Size: len(natsPorts), Output: os.Stderr,
	})
	if err != nil {
		return fmt.Errorf("%w (build it: go tool task build:nats-server)", err)
	}
	defer nc.Stop()
	for _, n := range nc.Nodes {
		logger.Info("nats node", "name", n.Name, "url", n.URL(), "pid", n.PID())
	}

	env := nc.Env()
	var backends []string
	for i, port := range appPorts {
		name := fmt.Sprintf("app%d", i+1)
		app, err := cluster.StartProcess(cluster.ProcessOptions{
			Name: name, Bin: "bin/app", Output: os.Stdout,
			Env: slices.Concat(env, cluster.BehindProxyEnv(), []string{fmt.Sprintf("PORT=%d", port), "HOST=127.0.0.1", "DATA_DIR=" + filepath.Join(dir, name)}),
		})
		if err != nil {
			return fmt.Errorf("%w (build it: go tool task build)", err)
		}
		defer app.Stop(10 * time.Second)
		backends = append(backends, fmt.Sprintf("127.0.0.1:%d", port))
		logger.Info("app instance", "url", fmt.Sprintf("http://127.0.0.1:%d", port), "pid", app.PID())
	}
	// What runs once per cluster rather than once per instance.
	for _, start := range []companion{
		//ironstar:needs analytics
		startEngines,
	} {
		stop, err := start(ctx, nc, dir, env, logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	for _, port := range appPorts {
		// The first start on a new cluster creates streams and buckets.
		if err := cluster.WaitPort(ctx, port, 60*time.Second); err != nil {
			return err
		}
	}

	proxy, err := cluster.StartProxy(ctx, cluster.ProxyOptions{
		Bin: "bin/caddy", Caddyfile: cluster.Caddyfile, Listen: listen, Upstreams: backends,
		Dir: filepath.Join(dir, "caddy"), Output: os.Stderr,
	}, 30*time.Second)
	if err != nil {
		return fmt.Errorf("%w (build it: go tool task build:caddy)", err)
	}
	defer proxy.Stop(10 * time.Second)
	logger.Info("caddy: open this one", "url", proxy.URL(), "upstreams", backends, "pid", proxy.PID())
	select {
	case <-ctx.Done():
		return nil
	case <-proxy.Exited():
		return errors.New("caddy exited")
	}
}

// companion starts processes that run beside the app instances on the
// cluster's nodes, with their data under dir and env pointing them at NATS
// as it points the instances; stop ends them.
type companion func(ctx context.Context, nodes *cluster.NATS, dir string, env []string, logger *slog.Logger) (stop func(), err error)

// startEngines starts two analytics engines (bin/analytics), and logs which
// one is active whenever that changes.
//
//ironstar:needs analytics
func startEngines(ctx context.Context, nodes *cluster.NATS, dir string, env []string, logger *slog.Logger) (func(), error) {
	// Its own connection, to read the lease.
	conn, err := nats.Connect(nodes.URL(), nats.MaxReconnects(-1))
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	engines, err := cluster.StartEngines(cluster.EngineOptions{
		Bin: "bin/analytics", Dir: dir, Env: env, Output: func(string) io.Writer { return os.Stdout },
	})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w (build it: go tool task build)", err)
	}
	for _, e := range engines {
		logger.Info("analytics engine", "name", e.Name(), "pid", e.PID())
	}
	watchCtx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		logActiveEngine(watchCtx, js, engines, logger)
	}()
	return func() {
		cancel()
		<-watched
		conn.Close()
		for _, e := range engines {
			e.Stop(10 * time.Second)
		}
	}, nil
}

// logActiveEngine logs which engine holds the lease (and so publishes the
// dashboard) each time that changes, until ctx ends.
//
//ironstar:needs analytics
func logActiveEngine(ctx context.Context, js jetstream.JetStream, engines []*cluster.Process, logger *slog.Logger) {
	logged := ""
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		active, holder, err := cluster.ActiveEngine(ctx, js, engines)
		switch {
		case err != nil:
			// NATS does not answer (a node restarting): ask again later.
		case active != nil && active.Name() != logged:
			logger.Info("analytics engine active: it publishes the dashboard", "name", active.Name(), "pid", active.PID())
			logged = active.Name()
		case active == nil && logged != "":
			logger.Info("no analytics engine active; a standby takes over when the lease runs out", "lease", holder)
			logged = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
