package natstest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// SmallDisk mounts a tmpfs of the given size (e.g. "16m") on a fresh
// directory and unmounts it when the test ends: a real disk that a test
// can fill. It needs root (CI runs as root); elsewhere the test fails
// saying so, rather than pass without having tried.
func SmallDisk(tb testing.TB, size string) string {
	tb.Helper()
	dir := tb.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		tb.Fatalf("mount a %s tmpfs on %s (needs root): %v\n%s", size, dir, err, out)
	}
	tb.Cleanup(func() {
		// Lazy (-l): a process the test started may still hold files there.
		// umount(8) rather than syscall.MNT_DETACH, which exists on Linux
		// only: this package must build wherever its other helpers are used.
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			tb.Errorf("unmount %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}

// FillDisk writes a file in dir until the disk has no room left and
// returns its path: remove it to free the space.
func FillDisk(tb testing.TB, dir string) string {
	tb.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatalf("fill disk: %v", err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				tb.Fatalf("fill disk: %v", err)
			}
			// Smaller writes take the last partial block too.
			for _, err := f.Write(buf[:512]); err == nil; _, err = f.Write(buf[:512]) {
			}
			return path
		}
	}
}
