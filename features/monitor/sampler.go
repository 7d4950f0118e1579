package monitor

import (
	"context"
	"sync/atomic"
	"time"

	"ironstar/sse"

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
	running  atomic.Int32 // watches open, for tests
}

// watch implements the hub's watch: a sample now, then one per interval
// (sse.Sampled), while the hub keeps the watch's context.
func (s *sampler) watch(ctx context.Context, key string) (<-chan Sample, error) {
	s.running.Add(1)
	context.AfterFunc(ctx, func() { s.running.Add(-1) })
	return sse.Sampled(s.interval, s.sample)(ctx, key)
}
