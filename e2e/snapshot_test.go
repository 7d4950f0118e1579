//ironstar:needs counter todo sortable

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// storedSnapshot is what the app keeps in the snapshots bucket (es.Snapshot).
type storedSnapshot struct {
	Version  uint64          `json:"version"`
	State    json.RawMessage `json:"state"`
	Commands []string        `json:"commands"`
}

// snapshots reads the app's snapshots bucket through its NATS port.
func snapshots(t *testing.T, port string) map[string]storedSnapshot {
	t.Helper()
	js := embeddedJetStream(t, port)
	kv, err := js.KeyValue(t.Context(), "snapshots")
	if err != nil {
		t.Fatalf("the snapshots bucket: %v", err)
	}
	keys, err := kv.ListKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]storedSnapshot{}
	for key := range keys.Keys() {
		entry, err := kv.Get(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		var s storedSnapshot
		if err := json.Unmarshal(entry.Value(), &s); err != nil {
			t.Fatalf("snapshot %s: %v", key, err)
		}
		out[key] = s
	}
	return out
}

// TestEveryAggregateIsSnapshottedOnTheRealBinary drives the counter, a todo
// list and a board past SNAPSHOT_EVERY on the real binary: each is
// snapshotted (no feature opts in), a retried command from before the
// snapshot is still a duplicate, and after a restart the next snapshot
// holds the state folded from the previous one.
func TestEveryAggregateIsSnapshottedOnTheRealBinary(t *testing.T) {
	t.Parallel()
	port, dir := freePort(t), t.TempDir()
	a := startApp(t, appOptions{dataDir: dir, env: []string{"NATS_PORT=" + port, "SNAPSHOT_EVERY=10"}})
	c := newClient(t, a.URL)
	increment := func(key string) {
		t.Helper()
		if res, body := c.command(http.MethodPost, "/counter/global/increment", `{}`, "Idempotency-Key", key); res.StatusCode != http.StatusOK {
			t.Fatalf("increment %s = %d %s", key, res.StatusCode, body)
		}
	}
	for i := range 25 {
		increment(fmt.Sprintf("inc-%d", i))
	}
	for i := range 12 {
		if res, _ := c.command(http.MethodPost, "/todos", fmt.Sprintf(`{"title":"todo %d"}`, i)); res.StatusCode != http.StatusOK {
			t.Fatalf("add %d = %d", i, res.StatusCode)
		}
	}
	orders := []string{`["ship","plan","design","build","test"]`, `["plan","design","build","test","ship"]`}
	for i := range 12 {
		if res, _ := c.command(http.MethodPost, "/sortable", `{"order":`+orders[i%2]+`}`); res.StatusCode != http.StatusOK {
			t.Fatalf("reorder %d = %d", i, res.StatusCode)
		}
	}

	snaps := snapshots(t, port)
	var kinds []string
	for key := range snaps {
		kinds = append(kinds, strings.SplitN(key, ".", 2)[0])
	}
	slices.Sort(kinds)
	if fmt.Sprint(kinds) != "[counter sortable todo]" {
		t.Errorf("snapshots of %v, want one each of counter, sortable, todo", kinds)
	}
	global := snaps["counter.global"]
	if string(global.State) != `{"Value":20}` || !slices.Contains(global.Commands, "inc-3") {
		t.Fatalf("the global counter's snapshot = %s remembering %v; want value 20, remembering inc-3", global.State, global.Commands)
	}

	// inc-3 again (a retry from before the snapshot) stores nothing.
	increment("inc-3")
	increment("inc-25")
	waitFor(t, 10*time.Second, "the global counter at 26", func() bool {
		g, _ := c.counters()
		return g == 26
	})

	// Restarted on the same data, the app goes on from the snapshot: four
	// more make ten since, and the next snapshot holds 30.
	a.stop(t)
	port = freePort(t)
	b := startApp(t, appOptions{dataDir: dir, env: []string{"NATS_PORT=" + port, "SNAPSHOT_EVERY=10"}})
	c.base = b.URL
	for i := 26; i < 30; i++ {
		increment(fmt.Sprintf("inc-%d", i))
	}
	if got := snapshots(t, port)["counter.global"]; string(got.State) != `{"Value":30}` || got.Version <= global.Version {
		t.Errorf("after the restart the snapshot = %s at %d; want value 30 after %d", got.State, got.Version, global.Version)
	}
	waitFor(t, 10*time.Second, "the global counter at 30", func() bool {
		g, _ := c.counters()
		return g == 30
	})
}
