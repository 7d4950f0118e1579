package monitor

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ironstar/internal/poll"
	"ironstar/sse"
)

func TestSamplingRunsOnlyWhilePagesAreOpen(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	s := &sampler{interval: 5 * time.Millisecond, sample: func(context.Context) (Sample, error) {
		n := calls.Add(1)
		return Sample{CPUPercent: float64(n), MemUsed: 1 << 30, MemTotal: 4 << 30, At: time.Unix(0, 0)}, nil
	}}
	hub := sse.NewHub(sse.FromChannel(s.watch), render)

	first, cancelFirst := context.WithCancel(context.Background())
	second, cancelSecond := context.WithCancel(context.Background())
	a, _ := hub.Subscribe(first, "host", struct{}{})
	b, _ := hub.Subscribe(second, "host", struct{}{})
	for _, ch := range []<-chan sse.Frame{a, b, a, b} {
		select {
		case f := <-ch:
			if !strings.HasPrefix(string(f.Data), "event: datastar-patch-signals\ndata: signals {\"host\":{") || !strings.Contains(string(f.Data), `"mem":"1.0 GiB of 4.0 GiB"`) {
				t.Fatalf("frame = %q", f.Data)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no sample")
		}
	}
	if n := s.running.Load(); n != 1 {
		t.Errorf("%d sampling loops for two pages, want 1", n)
	}

	cancelFirst()
	cancelSecond()
	poll.Until(t, 5*time.Second, "sampling to stop with no page open", func() bool { return s.running.Load() == 0 })
}

func TestFormatBytes(t *testing.T) {
	t.Parallel()
	for n, want := range map[uint64]string{512: "512 B", 2048: "2.0 KiB", 3 << 30: "3.0 GiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
