package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"ironstar/internal/logbuf"
	"ironstar/internal/poll"
)

// Binaries built once for the whole package by TestMain.
var (
	repoRoot string
	prodBin  string // the default build: embedded, content-hashed assets
	devBin   string // -tags dev: assets from disk, browser reload stream
	// natsServerBin and caddyBin are nats-server and Caddy built from
	// go.mod's versions, for the tests that set needClusterBins (the
	// cluster tests).
	natsServerBin   string
	caddyBin        string
	needClusterBins bool
	// binDir holds the binaries.
	binDir string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = root
	binDir, err = os.MkdirTemp("", "ironstar-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(binDir)
	prodBin = filepath.Join(binDir, "app")
	devBin = filepath.Join(binDir, "app-dev")
	natsServerBin = filepath.Join(binDir, "nats-server")
	caddyBin = filepath.Join(binDir, "caddy")
	builds := [][]string{
		{"build", "-o", prodBin, "./cmd/app"},
		{"build", "-tags", "dev", "-o", devBin, "./cmd/app"},
		// The analytics engine (cgo: DuckDB), for startEngine.
		//ironstar:needs analytics
		{"build", "-o", filepath.Join(binDir, engineBinName), "./cmd/analytics"},
	}
	if needClusterBins {
		builds = append(builds,
			[]string{"build", "-o", natsServerBin, "github.com/nats-io/nats-server/v2"},
			[]string{"build", "-o", caddyBin, "github.com/caddyserver/caddy/v2/cmd/caddy"})
	}
	for _, build := range builds {
		cmd := exec.Command("go", build...)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go %s: %v\n%s", strings.Join(build, " "), err, out)
			return 1
		}
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "web/resources/static/dist/datastar.js")); err != nil {
		fmt.Fprintln(os.Stderr, "assets are not built: run `go tool task test` (or `go run ./cmd/build`) first")
		return 1
	}
	return m.Run()
}

// app is one running Ironstar process.
type app struct {
	URL     string // http://127.0.0.1:port
	Port    string
	DataDir string
	// NATSPort is the embedded NATS server's TCP port: the NATS_PORT the
	// test set in appOptions.env, empty if none (no TCP clients then).
	NATSPort string
	cmd      *exec.Cmd
	logs     *logbuf.Buffer
	urls     chan string // the listening line's URL
	exited   chan struct{}
	exitErr  error
}

// appOptions vary how an app starts.
type appOptions struct {
	bin     string // prodBin when empty
	port    string // "0" (random) when empty
	dataDir string // a fresh temp dir when empty
	env     []string
}

var listeningLine = regexp.MustCompile(`msg=listening url=(http://\S+)`)

// startApp starts the binary and waits for its "listening" log line. The
// process is stopped (SIGTERM, then SIGKILL) when the test ends.
func startApp(t testing.TB, opts appOptions) *app {
	t.Helper()
	a := launchApp(t, opts)
	a.waitListening(t)
	return a
}

// launchApp starts the binary without waiting for it to serve, so that
// several can start at the same instant; waitListening waits.
func launchApp(t testing.TB, opts appOptions) *app {
	t.Helper()
	if opts.bin == "" {
		opts.bin = prodBin
	}
	if opts.port == "" {
		opts.port = "0"
	}
	if opts.dataDir == "" {
		opts.dataDir = t.TempDir()
	}
	a := &app{DataDir: opts.dataDir, logs: &logbuf.Buffer{}, exited: make(chan struct{})}
	a.cmd = exec.Command(opts.bin)
	a.cmd.Dir = repoRoot // the dev build reads assets relative to it
	a.cmd.Env = append(os.Environ(), "HOST=127.0.0.1", "PORT="+opts.port, "DATA_DIR="+opts.dataDir, "NATS_URL=", "NATS_PORT=", "LOG_LEVEL=info", "LOG_REQUESTS=all")
	// Tests drive a session harder than a person does: no per-session write
	// quota unless a test sets one (quota_test.go tests the defaults).
	a.cmd.Env = append(a.cmd.Env, "SESSION_WRITE_RATE=0", "SESSION_WRITE_BYTES=0")
	// Every test client is 127.0.0.1: no per-client write quota or stream
	// cap (a cap at least HTTP_MAX_STREAMS is none) unless a test sets one
	// (client_test.go tests them).
	a.cmd.Env = append(a.cmd.Env, "CLIENT_WRITE_RATE=0", "CLIENT_WRITE_BYTES=0", "HTTP_MAX_STREAMS_PER_CLIENT=1000000")
	a.cmd.Env = append(a.cmd.Env, opts.env...)
	for _, setting := range opts.env {
		if port, ok := strings.CutPrefix(setting, "NATS_PORT="); ok {
			a.NATSPort = port
		}
	}
	stdout, err := a.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	a.cmd.Stderr = a.logs
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", opts.bin, err)
	}

	a.urls = make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			line := scanner.Text()
			a.logs.WriteString(line + "\n")
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				select {
				case a.urls <- m[1]:
				default:
				}
			}
		}
		a.exitErr = a.cmd.Wait()
		close(a.exited)
	}()
	t.Cleanup(func() {
		a.stop(t)
		if t.Failed() {
			t.Logf("app %s logs (warnings and errors, then the tail):\n%s", a.URL, a.failureLogs())
		}
	})

	return a
}

// failureLogs is what a failed test shows of the app's log: every line
// above info (request lines drown them otherwise), then the last 8 KB.
func (a *app) failureLogs() string {
	logs := a.logs.String()
	var notable strings.Builder
	for line := range strings.Lines(logs) {
		if !strings.Contains(line, "level=INFO") && !strings.Contains(line, "level=DEBUG") {
			notable.WriteString(line)
		}
	}
	return notable.String() + "---\n" + tail(logs)
}

// tail is the last 8 KB of a process's output.
func tail(logs string) string {
	if len(logs) > 8<<10 {
		return "…" + logs[len(logs)-8<<10:]
	}
	return logs
}

// waitListening waits for the app's "listening" log line and records its URL.
func (a *app) waitListening(t testing.TB) {
	t.Helper()
	select {
	case a.URL = <-a.urls:
		a.Port = a.URL[strings.LastIndex(a.URL, ":")+1:]
	case <-a.exited:
		t.Fatalf("app exited before listening: %v\n%s", a.exitErr, a.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("app did not log a listening line within 60s:\n%s", a.logs.String())
	}
}

// terminate sends SIGTERM and waits up to timeout for the process to exit.
func (a *app) terminate(timeout time.Duration) error {
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-a.exited:
		return a.exitErr
	case <-time.After(timeout):
		return fmt.Errorf("still running %s after SIGTERM", timeout)
	}
}

// kill ends the process at once (SIGKILL): no graceful shutdown.
func (a *app) kill(t testing.TB) {
	t.Helper()
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-a.exited
}

func (a *app) stop(t testing.TB) {
	select {
	case <-a.exited:
		return
	default:
	}
	if err := a.terminate(10 * time.Second); err != nil {
		t.Errorf("stop app: %v", err)
		a.cmd.Process.Kill()
		<-a.exited
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, timeout, what, cond)
}

// freePort is a TCP port nothing listens on (for the embedded NATS).
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// embeddedJetStream connects to the app's embedded NATS server, started with
// NATS_PORT=port, for a test that reads or writes past the app.
func embeddedJetStream(t *testing.T, port string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect("nats://127.0.0.1:" + port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
