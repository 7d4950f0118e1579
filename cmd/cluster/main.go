// Command cluster runs Ironstar the way it scales out, on one machine: a
// three-node NATS JetStream cluster on 127.0.0.1 (data in a temporary
// directory), two app instances pointed at it with replicas 3, and a
// balancer in front of them. It expects bin/nats-server and bin/app
// (`go tool task cluster` builds both) and stops everything on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"ironstar/internal/cluster"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address of the balancer in front of the app instances")
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

	var backends []string
	for i, port := range appPorts {
		cmd := exec.Command("bin/app")
		cmd.Env = append(os.Environ(),
			fmt.Sprintf("PORT=%d", port), "HOST=127.0.0.1", "NATS_URL="+nc.URL(), "NATS_REPLICAS=3",
			"DATA_DIR="+filepath.Join(dir, fmt.Sprintf("app%d", i+1)))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cluster.DieWithParent(cmd)
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start app on %d (build it: go tool task build): %w", port, err)
		}
		defer func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}()
		backends = append(backends, fmt.Sprintf("127.0.0.1:%d", port))
		logger.Info("app instance", "url", fmt.Sprintf("http://127.0.0.1:%d", port), "pid", cmd.Process.Pid)
	}
	for _, port := range appPorts {
		// The first start on a new cluster creates streams and buckets.
		if err := cluster.WaitPort(ctx, port, 60*time.Second); err != nil {
			return err
		}
	}

	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: cluster.NewBalancer(backends, logger), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	logger.Info("balancer: open this one", "url", "http://"+l.Addr().String(), "backends", backends)
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
