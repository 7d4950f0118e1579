// Package cluster runs Ironstar scaled out on one machine: a JetStream
// cluster of nats-server processes on 127.0.0.1, several app instances, and
// Caddy in front of them on the repository's Caddyfile. `go tool task
// cluster` and the cluster tests use it; in production the same roles are
// played by NATS nodes and app instances on several machines, with the same
// Caddyfile (deploy/compose.yaml).
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The cluster's shape, which deploy/compose.yaml shares
// (deploy/deploy_test.go compares them).
const (
	// NATSClusterName is the name the NATS nodes' routes agree on.
	NATSClusterName = "ironstar"
	// DefaultSize is the number of NATS nodes: three, the fewest that keep
	// a majority with one down.
	DefaultSize = 3
	// Replicas is NATS_REPLICAS for the app instances and engines: every
	// stream and bucket on every node.
	Replicas = 3
)

// NATSOptions describe a local JetStream cluster.
type NATSOptions struct {
	// Bin is the nats-server binary.
	Bin string
	// Dir holds each node's config and store.
	Dir string
	// Size is the number of nodes (DefaultSize if 0).
	Size int
	// ClientPorts, when set, fixes the nodes' client ports (one per node);
	// otherwise free ports are picked.
	ClientPorts []int
	// Output receives the servers' logs (discarded if nil).
	Output io.Writer
}

// Node is one nats-server process of the cluster.
type Node struct {
	Name       string
	ClientPort int
	conf       string
	cmd        *exec.Cmd
	exited     chan struct{}
}

// URL is the node's client URL.
func (n *Node) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.ClientPort) }

// PID is the node's process ID (0 when it is not running).
func (n *Node) PID() int {
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// NATS is a running local JetStream cluster.
type NATS struct {
	Nodes []*Node
	opts  NATSOptions
}

// StartNATS writes a config per node (cluster "ironstar", routes between all
// nodes, JetStream with file storage under Dir) and starts the nodes; a
// size of 1 is a single server, no cluster. It
// returns once every node accepts client connections; JetStream elects its
// leaders shortly after, and the app waits for that.
func StartNATS(ctx context.Context, opts NATSOptions) (*NATS, error) {
	if opts.Size == 0 {
		opts.Size = DefaultSize
	}
	if opts.Output == nil {
		opts.Output = io.Discard
	}
	if len(opts.ClientPorts) != 0 && len(opts.ClientPorts) != opts.Size {
		return nil, fmt.Errorf("cluster: %d client ports for %d nodes", len(opts.ClientPorts), opts.Size)
	}
	clientPorts := opts.ClientPorts
	if len(clientPorts) == 0 {
		var err error
		if clientPorts, err = freePorts(opts.Size); err != nil {
			return nil, err
		}
	}
	routePorts, err := freePorts(opts.Size)
	if err != nil {
		return nil, err
	}
	routes := make([]string, opts.Size)
	for i, p := range routePorts {
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", p)
	}

	c := &NATS{opts: opts}
	for i := range opts.Size {
		n := &Node{Name: fmt.Sprintf("n%d", i+1), ClientPort: clientPorts[i], conf: filepath.Join(opts.Dir, fmt.Sprintf("n%d.conf", i+1))}
		text := fmt.Sprintf("server_name: %s\nlisten: 127.0.0.1:%d\njetstream { store_dir: %q }\n",
			n.Name, n.ClientPort, filepath.Join(opts.Dir, n.Name))
		if opts.Size > 1 {
			text += fmt.Sprintf("cluster {\n  name: %s\n  listen: 127.0.0.1:%d\n  routes: [%s]\n}\n",
				NATSClusterName, routePorts[i], strings.Join(routes, ", "))
		}
		if err := os.WriteFile(n.conf, []byte(text), 0o600); err != nil {
			c.Stop()
			return nil, err
		}
		c.Nodes = append(c.Nodes, n)
		if err := c.start(n); err != nil {
			c.Stop()
			return nil, err
		}
	}
	for _, n := range c.Nodes {
		if err := WaitPort(ctx, n.ClientPort, 30*time.Second); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

func (c *NATS) start(n *Node) error {
	cmd := exec.Command(c.opts.Bin, "-c", n.conf)
	cmd.Stdout, cmd.Stderr = c.opts.Output, c.opts.Output
	DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cluster: start %s: %w", n.Name, err)
	}
	n.cmd, n.exited = cmd, make(chan struct{})
	go func(done chan struct{}) {
		cmd.Wait()
		close(done)
	}(n.exited)
	return nil
}

// Env is how every process of the cluster finds NATS, as an operator would
// configure it: NATS_URL with every node, NATS_REPLICAS.
func (c *NATS) Env() []string {
	return []string{"NATS_URL=" + c.URL(), fmt.Sprintf("NATS_REPLICAS=%d", Replicas)}
}

// URL lists every node's client URL, comma-separated, as NATS_URL takes it.
func (c *NATS) URL() string {
	urls := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		urls[i] = n.URL()
	}
	return strings.Join(urls, ",")
}

// Node finds a node by server name.
func (c *NATS) Node(name string) (*Node, error) {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n, nil
		}
	}
	return nil, fmt.Errorf("cluster: no node named %q", name)
}

// Kill ends a node at once with SIGKILL, by PID: no goodbye to its peers.
func (c *NATS) Kill(n *Node) error {
	if err := syscall.Kill(n.PID(), syscall.SIGKILL); err != nil {
		return fmt.Errorf("cluster: kill %s: %w", n.Name, err)
	}
	<-n.exited
	return nil
}

// Restart starts a stopped node again on its config and store.
func (c *NATS) Restart(ctx context.Context, n *Node) error {
	select {
	case <-n.exited:
	default:
		return fmt.Errorf("cluster: %s is running", n.Name)
	}
	if err := c.start(n); err != nil {
		return err
	}
	return WaitPort(ctx, n.ClientPort, 30*time.Second)
}

// Stop ends every node (SIGTERM, then SIGKILL after 10 s).
func (c *NATS) Stop() {
	for _, n := range c.Nodes {
		if n.cmd != nil {
			n.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, n := range c.Nodes {
		if n.cmd == nil {
			continue
		}
		select {
		case <-n.exited:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
			<-n.exited
		}
	}
}

// freePorts asks the kernel for n free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("cluster: free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// WaitPort waits until something accepts connections on 127.0.0.1:port.
func WaitPort(ctx context.Context, port int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("cluster: nothing accepts connections on %s after %s", addr, timeout), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
