// Package poll is how tests wait for a condition: check it every few
// milliseconds until it holds or a deadline passes, never sleep for a
// guessed time.
package poll

import (
	"testing"
	"time"
)

// interval is the pause between two checks.
const interval = 10 * time.Millisecond

// Until checks cond until it holds, and fails the test (naming what it
// waited for) if it still does not after timeout.
func Until(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Within(timeout, cond) {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

// Within checks cond until it holds and reports true, or reports false
// once timeout has passed: for a test that describes a failure itself.
func Within(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
	return true
}
