package broker

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestEmbeddedServerStoresJetStreamDataUnderDataDir(t *testing.T) {
	dataDir := t.TempDir()
	ctx := t.Context()
	c, err := Connect(ctx, Options{DataDir: dataDir}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if _, err := c.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "PROBE", Subjects: []string{"probe.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	if _, err := c.JS.Publish(ctx, "probe.one", []byte("hello")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "nats", "jetstream")); err != nil {
		t.Fatalf("no JetStream store under DATA_DIR/nats: %v", err)
	}

	// A second start on the same directory sees the stored message.
	c, err = Connect(ctx, Options{DataDir: dataDir}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Connect again: %v", err)
	}
	defer c.Close(context.Background())
	stream, err := c.JS.Stream(ctx, "PROBE")
	if err != nil {
		t.Fatalf("Stream after restart: %v", err)
	}
	msg, err := stream.GetMsg(ctx, 1)
	if err != nil || string(msg.Data) != "hello" {
		t.Fatalf("GetMsg(1) after restart = %v, %v; want hello", msg, err)
	}
}

func TestEmbeddedServerListensOnlyWhenAPortIsGiven(t *testing.T) {
	ctx := t.Context()
	inProcess, err := Connect(ctx, Options{DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer inProcess.Close(context.Background())
	if addr := inProcess.server.Addr(); addr != nil {
		t.Errorf("in-process server listens on %v", addr)
	}

	listening, err := Connect(ctx, Options{DataDir: t.TempDir(), Port: server.RANDOM_PORT}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Connect with port: %v", err)
	}
	defer listening.Close(context.Background())
	nc, err := nats.Connect(listening.server.ClientURL(), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("a TCP client cannot reach the embedded server: %v", err)
	}
	nc.Close()
}

func TestExternalServerUnreachableFailsWithContext(t *testing.T) {
	ctx := t.Context()
	_, err := Connect(ctx, Options{URL: "nats://127.0.0.1:1"}, slog.New(slog.DiscardHandler))
	if err == nil {
		t.Fatal("Connect to a closed port succeeded")
	}
}

func TestExternalServerWithUserAndPassword(t *testing.T) {
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(),
		Username: "ironstar", Password: "s3cret", NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	ctx := t.Context()
	c, err := Connect(ctx, Options{URL: ns.ClientURL(), Auth: Auth{User: "ironstar", Password: "s3cret"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Connect with the right password: %v", err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Errorf("Ready: %v", err)
	}
	c.Close(context.Background())

	_, err = Connect(ctx, Options{URL: ns.ClientURL(), Auth: Auth{User: "ironstar", Password: "wrong"}}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "nats: connect") {
		t.Errorf("Connect with a wrong password = %v, want a clear connect error", err)
	}
}
