//go:build unix

package httpserver

import (
	"syscall"
	"testing"
)

func TestRaiseFDLimitRaisesTheSoftLimitToTheHardOne(t *testing.T) {
	got, err := RaiseFDLimit()
	if err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if got != uint64(lim.Cur) || got == 0 {
		t.Errorf("RaiseFDLimit() = %d, soft limit now %d", got, lim.Cur)
	}
	if uint64(lim.Cur) != uint64(lim.Max) {
		t.Logf("soft limit %d stays below the hard %d (refused by the system)", lim.Cur, lim.Max)
	}
}
