package broker_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"ironstar/internal/poll"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/internal/logbuf"
	"ironstar/nats/broker"
	"ironstar/nats/natstest"
)

// A full disk leaves the stream stuck on its write error; the healer
// reports it, and once the space is freed restarts JetStream so that
// writes succeed again, with every acknowledged message still there.
func TestHealerRestartsJetStreamOnceAFullDiskIsFreed(t *testing.T) {
	dir := natstest.SmallDisk(t, "16m")
	p := startProbe(t, dir, 1000)
	healer, logs, publish := p.healer, p.logs, p.publish
	ctx := t.Context()
	for range 50 {
		if err := publish(); err != nil {
			t.Fatalf("publish before the disk is full: %v", err)
		}
	}
	if err := healer.Check(ctx); err != nil {
		t.Fatalf("Check on a healthy store = %v", err)
	}

	filler := natstest.FillDisk(t, dir)
	deadline := time.Now().Add(10 * time.Second)
	for publish() == nil {
		if time.Now().After(deadline) {
			t.Fatal("publishes still succeed on a full disk")
		}
	}
	poll.Until(t, 15*time.Second, "the healer to report the store broken", func() bool { return healer.Check(ctx) != nil })
	// While the disk stays full, the healer waits rather than restart.
	poll.Until(t, 15*time.Second, "the healer to say it waits", func() bool { return strings.Contains(logs.String(), "still cannot write") })
	if err := publish(); err == nil {
		t.Fatal("a publish succeeded while the disk is full")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 15*time.Second, "the healer to report the store healthy", func() bool { return healer.Check(ctx) == nil })
	poll.Until(t, 15*time.Second, "a publish to succeed", func() bool { return publish() == nil })
	if !strings.Contains(logs.String(), "restarting jetstream") {
		t.Errorf("the log does not say JetStream was restarted:\n%s", logs.String())
	}
	p.assertKept(t)
}

// Descriptors running out while JetStream opens a block file leave the
// stream stuck too; once they are back, the healer restarts JetStream. The
// test takes every descriptor of the process: nothing in this package may
// run in parallel with it.
func TestHealerRestartsJetStreamOnceDescriptorsAreBack(t *testing.T) {
	// 64 KiB messages: a new 8 MiB block every 128.
	p := startProbe(t, t.TempDir(), 64<<10)
	logs, publish := p.logs, p.publish

	// Take every descriptor left, and each one JetStream frees (as a flood
	// of connections accepting would): rolling to a new block file closes
	// the old one and opens the next, and the next finds none.
	var (
		mu   sync.Mutex
		held []*os.File
	)
	grab := func() bool {
		f, err := os.Open(os.DevNull)
		if err != nil {
			return false
		}
		mu.Lock()
		held = append(held, f)
		mu.Unlock()
		return true
	}
	release := func() {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range held {
			f.Close()
		}
		held = nil
	}
	defer release()
	for grab() {
	}
	grabbing, grabbed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(grabbed)
		for {
			select {
			case <-grabbing:
				return
			default:
				if !grab() {
					runtime.Gosched()
				}
			}
		}
	}()
	// Back to back, not poll.Until: with poll's 10 ms pause between
	// publishes, this wait timed out in one run of four.
	deadline := time.Now().Add(10 * time.Second)
	for publish() == nil {
		if time.Now().After(deadline) {
			t.Fatal("publishes still succeed without descriptors")
		}
	}
	close(grabbing)
	<-grabbed
	// Descriptors back: the write error stays until the healer acts.
	release()
	defer func() {
		if t.Failed() {
			t.Logf("log:\n%s", logs)
		}
	}()
	poll.Until(t, 15*time.Second, "a publish to succeed once descriptors are back", func() bool { return publish() == nil })
	if !strings.Contains(logs.String(), "critical write error") || !strings.Contains(logs.String(), "restarting jetstream") {
		t.Fatalf("no write error, or no restart, in the log:\n%s", logs)
	}
	p.assertKept(t)
}

// A store that restarts do not heal (here a stream directory the server
// cannot recover) makes Run give up with an error: the app exits non-zero
// for its supervisor, rather than report ready or restart for ever.
func TestHealerGivesUpWhenRestartsDoNotHeal(t *testing.T) {
	dir := t.TempDir()
	logs := &logbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	c, err := broker.Connect(t.Context(), broker.Options{DataDir: dir}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	bogus := filepath.Join(dir, "nats", "jetstream", "$G", "streams", "BOGUS")
	if err := os.MkdirAll(bogus, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bogus, "meta.inf"), []byte("not a stream"), 0o640); err != nil {
		t.Fatal(err)
	}
	healer := c.Healer(broker.HealOptions{Interval: 20 * time.Millisecond, MaxRestarts: 2}, logger)
	done := make(chan error, 1)
	go func() { done <- healer.Run(t.Context()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "did not heal after 2 restarts") {
			t.Fatalf("Run = %v; want it to give up after 2 restarts", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("Run still restarting after 20 s:\n%s", logs)
	}
	if healer.Check(t.Context()) == nil {
		t.Error("Check reports a store that never healed as healthy")
	}
}

// probe is an embedded server with a stream PROBE, logging to logs, and
// its healer running (checking every 50 ms) until the test ends.
type probe struct {
	c      *broker.Conn
	healer *broker.Healer
	logs   *logbuf.Buffer
	size   int // bytes a publish sends
	acked  int // publishes acknowledged
}

func startProbe(t *testing.T, dir string, size int) *probe {
	t.Helper()
	p := &probe{logs: &logbuf.Buffer{}, size: size}
	logger := slog.New(slog.NewTextHandler(p.logs, nil))
	c, err := broker.Connect(t.Context(), broker.Options{DataDir: dir}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	if _, err := c.JS.CreateStream(t.Context(), jetstream.StreamConfig{Name: "PROBE", Subjects: []string{"probe.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	p.c, p.healer = c, c.Healer(broker.HealOptions{Interval: 50 * time.Millisecond}, logger)
	// Not t.Context(): it ends before cleanups run, and Run must end here.
	runCtx, stop := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- p.healer.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return p
}

// publish sends one message to PROBE, counting it if acknowledged.
func (p *probe) publish() error {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := p.c.JS.Publish(ctx, "probe.x", make([]byte, p.size))
	if err == nil {
		p.acked++
	}
	return err
}

// assertKept fails the test unless PROBE holds at least the acknowledged
// messages: a heal must lose nothing acknowledged.
func (p *probe) assertKept(t *testing.T) {
	t.Helper()
	info, err := p.c.JS.Stream(t.Context(), "PROBE")
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().State.Msgs; got < uint64(p.acked) {
		t.Fatalf("stream holds %d messages, but %d were acknowledged", got, p.acked)
	}
}
