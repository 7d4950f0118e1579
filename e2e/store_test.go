//ironstar:needs todo

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"ironstar/nats/natstest"
)

// A full disk makes commands fail (503) and readiness report down; once
// space is freed the app heals by itself within seconds — commands stored
// again, readiness up — and every acknowledged todo is on the page.
func TestStoreHealsAfterTheDiskWasFull(t *testing.T) {
	t.Parallel()
	dir := natstest.SmallDisk(t, "32m")
	a := startApp(t, appOptions{dataDir: dir, env: []string{"EVENTS_MAX_BYTES=8MiB"}})
	c := newClient(t, a.URL)

	var acked []string
	add := func(title string) int {
		res, _ := c.command(http.MethodPost, "/todos", fmt.Sprintf(`{"title":%q}`, title))
		if res.StatusCode == 200 {
			acked = append(acked, title)
		}
		return res.StatusCode
	}
	for i := range 20 {
		if code := add(fmt.Sprintf("before %d", i)); code != 200 {
			t.Fatalf("add before the disk is full = %d", code)
		}
	}
	ready := func() int {
		res, _ := get(t, a.URL+"/health/ready")
		return res.StatusCode
	}
	if code := ready(); code != 200 {
		t.Fatalf("ready before the disk is full = %d", code)
	}

	filler := natstest.FillDisk(t, dir)
	refused := 0
	waitFor(t, 60*time.Second, "commands refused on a full disk", func() bool {
		code := add(fmt.Sprintf("during %d", len(acked)+refused))
		if code == 200 {
			return false
		}
		if code != http.StatusServiceUnavailable {
			t.Fatalf("a command on a full disk answered %d; want 503", code)
		}
		refused++
		return true
	})
	waitFor(t, 10*time.Second, "readiness down while the store cannot write", func() bool { return ready() == http.StatusServiceUnavailable })
	if !strings.Contains(a.logs.String(), "jetstream cannot store") {
		t.Errorf("the log does not say the store is failing")
	}
	// Known broken, a command is refused at once, asking for a retry.
	res, _ := c.command(http.MethodPost, "/todos", `{"title":"while broken"}`)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("a command while the store is broken = %d, Retry-After %q; want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	waitFor(t, 30*time.Second, "readiness up after the disk was freed", func() bool { return ready() == 200 })
	waitFor(t, 30*time.Second, "a command stored after the disk was freed", func() bool { return add("after") == 200 })
	t.Logf("healed %s after the space was freed (%d commands refused meanwhile)", time.Since(freed).Round(100*time.Millisecond), refused)

	waitFor(t, 15*time.Second, "every acknowledged todo on the page", func() bool {
		have := c.todos()
		for _, title := range acked {
			if !slices.Contains(have, title) {
				return false
			}
		}
		return true
	})
	if strings.Contains(a.logs.String(), "status=500") {
		t.Errorf("a request answered 500")
	}
}
