//ironstar:needs todo

package e2e

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestKillNineUnderLoadLosesNothingAcknowledged kills the app with SIGKILL
// while several sessions add todos as fast as it answers, restarts it on
// the same DATA_DIR, and checks every list: each add that was answered 200
// is there, once. An add cut off by the kill may or may not be stored
// (its sender never learned which), but none may be stored twice.
func TestKillNineUnderLoadLosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	a := startApp(t, appOptions{dataDir: dataDir})

	const sessions = 6
	clients := newClients(t, a.URL, sessions)
	var (
		mu    sync.Mutex
		acked = make([][]string, sessions)
		total int
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	for i, c := range clients {
		wg.Go(func() {
			c.keepAddingTodos(fmt.Sprintf("s%d", i), stop, func(title string) {
				mu.Lock()
				acked[i] = append(acked[i], title)
				total++
				mu.Unlock()
			})
		})
	}
	waitFor(t, 30*time.Second, "300 acknowledged adds", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return total >= 300
	})
	a.kill(t)
	close(stop)
	wg.Wait()

	b := startApp(t, appOptions{dataDir: dataDir})
	for i, c := range clients {
		c.base = b.URL // same host, so the jar sends the same session cookie
		waitFor(t, 20*time.Second, fmt.Sprintf("session %d's %d acknowledged todos after the restart", i, len(acked[i])), func() bool {
			return containsAll(c.todos(), acked[i])
		})
		if dup := firstDuplicate(c.todos()); dup != "" {
			t.Errorf("session %d: %q is listed twice", i, dup)
		}
	}
	t.Logf("%d adds acknowledged before the kill, all there after the restart", total)
	if slices.ContainsFunc(acked, func(titles []string) bool { return len(titles) == 0 }) {
		t.Errorf("a session had no add acknowledged before the kill: %v", acked)
	}
}

// containsAll reports whether every string of want is in have.
func containsAll(have, want []string) bool {
	set := make(map[string]bool, len(have))
	for _, h := range have {
		set[h] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}

// firstDuplicate returns the first string listed twice, or "".
func firstDuplicate(list []string) string {
	seen := make(map[string]bool, len(list))
	for _, s := range list {
		if seen[s] {
			return s
		}
		seen[s] = true
	}
	return ""
}
