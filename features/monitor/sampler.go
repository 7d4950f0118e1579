package monitor

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/mem"
)

// Sample is the host's load at one moment.
type Sample struct {
	CPUPercent float64
	MemUsed    uint64
	MemTotal   uint64
	MemPercent float64
	At         time.Time
}

// hostSample reads the host's CPU (since the previous call) and memory.
func hostSample(ctx context.Context) (Sample, error) {
	cpus, err := cpu.PercentWithContext(ctx, 0, false)
	if err != nil {
		return Sample{}, err
	}
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return Sample{}, err
	}
	s := Sample{MemUsed: vm.Used, MemTotal: vm.Total, MemPercent: vm.UsedPercent, At: time.Now()}
	if len(cpus) > 0 {
		s.CPUPercent = cpus[0]
	}
	return s, nil
}

// sampler samples every interval while anyone watches. The hub watches one
// key ("host") and cancels the watch when the last page closes, which ends
// the sampling loop: no page open, no sampling.
type sampler struct {
	interval time.Duration
	sample   func(context.Context) (Sample, error)
	running  atomic.Int32 // sampling loops alive, for tests
}

// watch implements the hub's watch: a sample now, then one per interval.
func (s *sampler) watch(ctx context.Context, _ string) (<-chan Sample, error) {
	out := make(chan Sample, 1)
	s.running.Add(1)
	go func() {
		defer s.running.Add(-1)
		defer close(out)
		tick := time.NewTicker(s.interval)
		defer tick.Stop()
		for {
			if sample, err := s.sample(ctx); err == nil {
				select { // keep only the newest
				case <-out:
				default:
				}
				out <- sample
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return out, nil
}
