package ensure_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/nats/ensure"
	"ironstar/nats/natstest"
)

func TestManyInstancesCreatingOneBucketAllGetIt(t *testing.T) {
	c := natstest.Connect(t)
	cfg := jetstream.KeyValueConfig{Bucket: "shared", Storage: jetstream.FileStorage, History: 1}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		nc, js, err := c.NewClient("instance")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		wg.Go(func() {
			kv, err := ensure.KeyValue(t.Context(), js, cfg)
			if err == nil {
				_, err = kv.Put(t.Context(), "k", []byte("v"))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestAnExistingBucketKeepsItsReplicasAndGetsTheAppsSettings(t *testing.T) {
	c := natstest.Connect(t)
	ctx := t.Context()
	kv, err := ensure.KeyValue(ctx, c.JS, jetstream.KeyValueConfig{Bucket: "sessions", Storage: jetstream.FileStorage, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	kv.Put(ctx, "k", []byte("kept"))

	// Other replicas: refused, naming the migration; nothing changes.
	_, err = ensure.KeyValue(ctx, c.JS, jetstream.KeyValueConfig{Bucket: "sessions", Storage: jetstream.FileStorage, TTL: time.Hour, Replicas: 3})
	if !errors.Is(err, ensure.ErrSettings) || !strings.Contains(err.Error(), "nats stream edit KV_sessions --replicas 3") {
		t.Fatalf("err = %v; want ErrSettings naming the migration", err)
	}
	// Another TTL: the app's to set.
	kv, err = ensure.KeyValue(ctx, c.JS, jetstream.KeyValueConfig{Bucket: "sessions", Storage: jetstream.FileStorage, TTL: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	status, _ := kv.Status(ctx)
	if status.TTL() != 2*time.Hour {
		t.Errorf("TTL = %s, want 2h", status.TTL())
	}
	if entry, err := kv.Get(ctx, "k"); err != nil || string(entry.Value()) != "kept" {
		t.Errorf("value = %v, %v; want kept", entry, err)
	}
}

func TestAnExistingStreamWithOtherSettingsIsRefused(t *testing.T) {
	c := natstest.Connect(t)
	ctx := t.Context()
	cfg := jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Storage: jetstream.FileStorage, Replicas: 1}
	if _, err := ensure.Stream(ctx, c.JS, cfg, func(jetstream.StreamConfig) []string { return nil }); err != nil {
		t.Fatal(err)
	}
	differs := func(have jetstream.StreamConfig) []string {
		if have.Storage != jetstream.MemoryStorage {
			return []string{"storage file (want memory)"}
		}
		return nil
	}
	_, err := ensure.Stream(ctx, c.JS, cfg, differs)
	if !errors.Is(err, ensure.ErrSettings) || !strings.Contains(err.Error(), "storage file (want memory)") {
		t.Fatalf("err = %v; want ErrSettings listing the difference", err)
	}
}

func TestRetryGivesUpWhenTimeRunsOut(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	attempts := 0
	_, err := ensure.Retry(ctx, "thing", func(ctx context.Context) (int, error) {
		attempts++
		return 0, jetstream.ErrNoStreamResponse // NATS not answering: worth another try
	})
	if err == nil || !strings.Contains(err.Error(), "still failing when time ran out") || attempts < 2 {
		t.Errorf("err = %v after %d attempts; want a give-up after several", err, attempts)
	}
	attempts = 0
	_, err = ensure.Retry(t.Context(), "thing", func(ctx context.Context) (int, error) {
		attempts++
		return 0, errors.New("a real answer")
	})
	if err == nil || attempts != 1 {
		t.Errorf("err = %v after %d attempts; want one attempt for a final error", err, attempts)
	}
}
