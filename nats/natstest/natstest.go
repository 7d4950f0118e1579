// Package natstest starts a real embedded NATS server with JetStream file
// storage in a test's temporary directory, for tests that need the real thing.
package natstest

import (
	"context"
	"log/slog"
	"testing"

	"ironstar/nats/broker"
)

// Connect starts an embedded server (in-process, no TCP port) storing under
// t.TempDir() and stops it when the test ends.
func Connect(t testing.TB) *broker.Conn {
	t.Helper()
	return ConnectDir(t, t.TempDir())
}

// ConnectDir is Connect with a given store directory, so that a test can
// restart a server on the same data.
func ConnectDir(t testing.TB, dir string) *broker.Conn {
	t.Helper()
	c, err := broker.Connect(context.Background(), broker.Options{DataDir: dir}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start embedded NATS: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}
