// Command cluster runs Ironstar the way it scales out, on one machine: a
// three-node NATS JetStream cluster on 127.0.0.1 (distinct ports, data in a
// temporary directory) and two app instances pointed at it, replicas 3.
// It expects bin/nats-server and bin/app (`go tool task cluster` builds
// both) and stops everything on Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	apps := flag.String("apps", "8081,8082", "HTTP ports of the app instances")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, strings.Split(*apps, ","), logger); err != nil {
		logger.Error("cluster", "err", err)
		os.Exit(1)
	}
}

// node is one NATS server's ports.
type node struct {
	name           string
	client, routes int
}

var nodes = []node{{"n1", 14222, 16222}, {"n2", 14223, 16223}, {"n3", 14224, 16224}}

func run(ctx context.Context, appPorts []string, logger *slog.Logger) error {
	dir, err := os.MkdirTemp("", "ironstar-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var routes, urls []string
	for _, n := range nodes {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", n.routes))
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", n.client))
	}

	var procs []*exec.Cmd
	defer func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].Process.Signal(syscall.SIGTERM)
			procs[i].Wait()
		}
	}()
	for _, n := range nodes {
		conf := filepath.Join(dir, n.name+".conf")
		text := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
jetstream { store_dir: %q }
cluster {
  name: ironstar
  listen: 127.0.0.1:%d
  routes: [%s]
}
`, n.name, n.client, filepath.Join(dir, n.name), n.routes, strings.Join(routes, ", "))
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, "bin/nats-server", "-c", conf)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s (build it: go tool task cluster): %w", n.name, err)
		}
		procs = append(procs, cmd)
		logger.Info("nats node", "name", n.name, "client", n.client, "pid", cmd.Process.Pid)
	}
	for _, n := range nodes {
		if err := waitPort(ctx, n.client); err != nil {
			return err
		}
	}

	for i, port := range appPorts {
		cmd := exec.CommandContext(ctx, "bin/app")
		cmd.Env = append(os.Environ(),
			"PORT="+port, "HOST=127.0.0.1", "NATS_URL="+strings.Join(urls, ","), "NATS_REPLICAS=3",
			"DATA_DIR="+filepath.Join(dir, fmt.Sprintf("app%d", i+1)))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start app on %s (build it: go tool task cluster): %w", port, err)
		}
		procs = append(procs, cmd)
		logger.Info("app instance", "url", "http://127.0.0.1:"+port, "pid", cmd.Process.Pid)
		// On a brand-new cluster the first instance creates the streams and
		// buckets; the next starts once it serves, rather than racing it.
		p, _ := strconv.Atoi(port)
		if err := waitPort(ctx, p); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

// waitPort waits until something listens on 127.0.0.1:port.
func waitPort(ctx context.Context, port int) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("nothing listens on 127.0.0.1:%d after 60s", port)
}
