package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"
)

// Caddyfile is the reverse proxy's configuration, relative to the
// repository's root: the cluster demo, the cluster tests and
// deploy/compose.yaml all run it.
const Caddyfile = "deploy/Caddyfile"

// HealthURI is the path the proxy probes on every app instance; an
// instance that does not answer it 200 gets no requests.
const HealthURI = "/health/ready"

// BehindProxyEnv is what an app instance behind the proxy needs: the
// proxy's X-Forwarded-For believed (it runs on 127.0.0.1), and a
// SHUTDOWN_DELAY longer than the Caddyfile's health-check interval (1 s),
// so that an instance stopping is out of rotation before it closes
// anything.
func BehindProxyEnv() []string {
	return []string{"TRUSTED_PROXIES=127.0.0.1", "SHUTDOWN_DELAY=2s"}
}

// ProxyOptions describe Caddy in front of the app instances. They fill
// the Caddyfile's environment placeholders.
type ProxyOptions struct {
	// Bin is the caddy binary.
	Bin string
	// Caddyfile is the configuration to run (the repository's Caddyfile).
	Caddyfile string
	// Listen is the host:port browsers connect to (PROXY_BIND and
	// PROXY_SITE).
	Listen string
	// Upstreams are the app instances, host:port (PROXY_UPSTREAMS).
	Upstreams []string
	// Admin, when set, is the address of Caddy's admin API, which Upstreams
	// reads (PROXY_ADMIN); empty turns it off.
	Admin string
	// Dir holds what Caddy writes (its autosaved config, its data).
	Dir string
	// Output receives its log (discarded if nil).
	Output io.Writer
}

// Proxy is a running Caddy.
type Proxy struct {
	*Process
	opts ProxyOptions
}

// StartProxy starts Caddy and returns once a request through it reaches an
// app instance (/health/live answers 200), or fails after timeout.
func StartProxy(ctx context.Context, opts ProxyOptions, timeout time.Duration) (*Proxy, error) {
	host, port, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("cluster: proxy listen address: %w", err)
	}
	admin := opts.Admin
	if admin == "" {
		admin = "off"
	}
	p, err := StartProcess(ProcessOptions{
		Name: "caddy", Bin: opts.Bin, Output: opts.Output,
		Args: []string{"run", "--adapter", "caddyfile", "--config", opts.Caddyfile},
		Env: []string{
			"PROXY_SITE=:" + port, "PROXY_BIND=" + host,
			"PROXY_UPSTREAMS=" + strings.Join(opts.Upstreams, " "),
			"PROXY_ADMIN=" + admin,
			// Caddy's own files, out of the user's home.
			"XDG_CONFIG_HOME=" + filepath.Join(opts.Dir, "config"),
			"XDG_DATA_HOME=" + filepath.Join(opts.Dir, "data"),
		},
	})
	if err != nil {
		return nil, err
	}
	proxy := &Proxy{Process: p, opts: opts}
	if err := proxy.waitServing(ctx, timeout); err != nil {
		p.Kill()
		return nil, err
	}
	return proxy, nil
}

// URL is the proxy's base URL.
func (p *Proxy) URL() string { return "http://" + p.opts.Listen }

// waitServing waits until /health/live answers 200 through the proxy.
func (p *Proxy) waitServing(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/health/live", nil)
		if err != nil {
			return err
		}
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/health/live answered %s", res.Status)
		}
		last = err
		select {
		case <-p.Exited():
			return fmt.Errorf("cluster: caddy exited at start (%s)", p.opts.Caddyfile)
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("cluster: caddy on %s reaches no app instance after %s", p.opts.Listen, timeout), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Upstreams reports the requests in flight to each app instance (an open
// SSE stream counts until it ends), from Caddy's admin API; it needs
// ProxyOptions.Admin.
func (p *Proxy) Upstreams(ctx context.Context) (map[string]int, error) {
	if p.opts.Admin == "" {
		return nil, errors.New("cluster: caddy runs without its admin API")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.opts.Admin+"/reverse_proxy/upstreams", nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cluster: caddy admin API: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cluster: caddy admin API answered %s", res.Status)
	}
	var upstreams []struct {
		Address     string `json:"address"`
		NumRequests int    `json:"num_requests"`
	}
	if err := json.NewDecoder(res.Body).Decode(&upstreams); err != nil {
		return nil, fmt.Errorf("cluster: caddy admin API: %w", err)
	}
	out := make(map[string]int, len(upstreams))
	for _, u := range upstreams {
		out[u.Address] = u.NumRequests
	}
	return out, nil
}
