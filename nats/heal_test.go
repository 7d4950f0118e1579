package nats_test

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

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/internal/logbuf"
	"ironstar/nats"
	"ironstar/nats/natstest"
)

// A full disk leaves the stream stuck on its write error; the healer
// reports it, and once the space is freed restarts JetStream so that
// writes succeed again, with every acknowledged message still there.
func TestHealerRestartsJetStreamOnceAFullDiskIsFreed(t *testing.T) {
	dir := natstest.SmallDisk(t, "16m")
	logs := &logbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	c, err := nats.Connect(t.Context(), nats.Options{DataDir: dir}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	ctx := t.Context()
	if _, err := c.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "PROBE", Subjects: []string{"probe.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	healer := c.Healer(nats.HealOptions{Interval: 50 * time.Millisecond}, logger)
	runErr := make(chan error, 1)
	runCtx, stop := context.WithCancel(ctx)
	go func() { runErr <- healer.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	acked := 0
	publish := func() error {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		_, err := c.JS.Publish(pctx, "probe.x", make([]byte, 1000))
		if err == nil {
			acked++
		}
		return err
	}
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
	waitUntil(t, "the healer to report the store broken", func() bool { return healer.Check(ctx) != nil })
	// While the disk stays full, the healer waits rather than restart.
	waitUntil(t, "the healer to say it waits", func() bool { return strings.Contains(logs.String(), "still cannot write") })
	if err := publish(); err == nil {
		t.Fatal("a publish succeeded while the disk is full")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the healer to report the store healthy", func() bool { return healer.Check(ctx) == nil })
	waitUntil(t, "a publish to succeed", func() bool { return publish() == nil })
	if !strings.Contains(logs.String(), "restarting jetstream") {
		t.Errorf("the log does not say JetStream was restarted:\n%s", logs.String())
	}
	assertKept(t, c, acked)
}

// Descriptors running out while JetStream opens a block file leave the
// stream stuck too; once they are back, the healer restarts JetStream. The
// test takes every descriptor of the process: nothing in this package may
// run in parallel with it.
func TestHealerRestartsJetStreamOnceDescriptorsAreBack(t *testing.T) {
	logs := &logbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	c, err := nats.Connect(t.Context(), nats.Options{DataDir: t.TempDir()}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	ctx := t.Context()
	if _, err := c.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "PROBE", Subjects: []string{"probe.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	healer := c.Healer(nats.HealOptions{Interval: 50 * time.Millisecond}, logger)
	runCtx, stop := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- healer.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	acked := 0
	publish := func() error {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		_, err := c.JS.Publish(pctx, "probe.x", make([]byte, 64<<10))
		if err == nil {
			acked++
		}
		return err
	}

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
	// 64 KiB messages: a new 8 MiB block every 128.
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
	waitUntil(t, "a publish to succeed once descriptors are back", func() bool { return publish() == nil })
	if !strings.Contains(logs.String(), "critical write error") || !strings.Contains(logs.String(), "restarting jetstream") {
		t.Fatalf("no write error, or no restart, in the log:\n%s", logs)
	}
	assertKept(t, c, acked)
}

// A store that restarts do not heal (here a stream directory the server
// cannot recover) makes Run give up with an error: the app exits non-zero
// for its supervisor, rather than report ready or restart for ever.
func TestHealerGivesUpWhenRestartsDoNotHeal(t *testing.T) {
	dir := t.TempDir()
	logs := &logbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	c, err := nats.Connect(t.Context(), nats.Options{DataDir: dir}, logger)
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
	healer := c.Healer(nats.HealOptions{Interval: 20 * time.Millisecond, MaxRestarts: 2}, logger)
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

// waitUntil polls cond until it holds or 15 s pass.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assertKept fails the test unless the PROBE stream holds at least the
// acked messages: a heal must lose nothing acknowledged.
func assertKept(t *testing.T, c *nats.Conn, acked int) {
	t.Helper()
	info, err := c.JS.Stream(t.Context(), "PROBE")
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().State.Msgs; got < uint64(acked) {
		t.Fatalf("stream holds %d messages, but %d were acknowledged", got, acked)
	}
}
