package projections

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"ironstar/nats/projection"
	"ironstar/nats/reactor"
	"ironstar/sse"
)

// Report is where the app's projections and reactors stand at one moment:
// what the page shows and what GET /projections/status answers (the
// command line decodes it).
type Report struct {
	At          time.Time             `json:"at"`
	Projections []ProjectionReport    `json:"projections"`
	Reactors    []ReactorReport       `json:"reactors"`
	Leftovers   []projection.Leftover `json:"leftovers"`
	// LeftoversError is why the leftovers could not be listed.
	LeftoversError string `json:"leftovers_error,omitempty"`
}

// ProjectionReport is one projection's status and rate.
type ProjectionReport struct {
	projection.Status
	// EventsPerSecond is the rate its position moved at between the last
	// two samples.
	EventsPerSecond float64
	// Error is why the status is incomplete (JetStream did not answer).
	Error string `json:",omitempty"`
}

// ReactorReport is one reactor's status.
type ReactorReport struct {
	reactor.Status
	Error string `json:",omitempty"`
}

// minRateInterval is the least time between the samples a rate is
// computed over: closer ones (two pages opening at once) keep the last.
const minRateInterval = 200 * time.Millisecond

// sampler takes Reports. It remembers each projection's previous position
// to give its rate: one sampler serves every page (the hub shares its
// samples), so the rate is over the last second whoever watches.
type sampler struct {
	projections func() []projection.Reporter
	reactors    func() []reactor.Reporter
	leftovers   func(context.Context) ([]projection.Leftover, error)

	mu   sync.Mutex
	last map[string]point
}

// point is a projection's position at a sample, and the rate there.
type point struct {
	position uint64
	at       time.Time
	rate     float64
}

// sample asks every projection and reactor where it stands and lists the
// leftovers.
func (s *sampler) sample(ctx context.Context) Report {
	report := Report{At: time.Now().UTC(), Projections: []ProjectionReport{}, Reactors: []ReactorReport{}, Leftovers: []projection.Leftover{}}
	for _, p := range s.projections() {
		st, err := p.Status(ctx)
		row := ProjectionReport{Status: st}
		if err != nil {
			row.Error = err.Error()
		} else {
			row.EventsPerSecond = s.rate(st.Name, st.Position, report.At)
		}
		report.Projections = append(report.Projections, row)
	}
	for _, r := range s.reactors() {
		st, err := r.Status(ctx)
		row := ReactorReport{Status: st}
		if err != nil {
			row.Error = err.Error()
		}
		report.Reactors = append(report.Reactors, row)
	}
	slices.SortFunc(report.Projections, func(a, b ProjectionReport) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(report.Reactors, func(a, b ReactorReport) int { return cmp.Compare(a.Name, b.Name) })
	leftovers, err := s.leftovers(ctx)
	if err != nil {
		report.LeftoversError = err.Error()
	} else if leftovers != nil {
		report.Leftovers = leftovers
	}
	return report
}

// rate is how fast name's position moved since the previous sample.
func (s *sampler) rate(name string, position uint64, at time.Time) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = map[string]point{}
	}
	prev, ok := s.last[name]
	if ok && at.Sub(prev.at) < minRateInterval {
		return prev.rate
	}
	p := point{position: position, at: at}
	if ok && position >= prev.position {
		p.rate = float64(position-prev.position) / at.Sub(prev.at).Seconds()
	}
	s.last[name] = p
	return p.rate
}

// watch is the hub's watch of the one key it follows: a Report now, then
// one every interval, until the last page closes.
func (s *sampler) watch(interval time.Duration) func(ctx context.Context, key string) (<-chan Report, error) {
	return sse.Sampled(interval, func(ctx context.Context) (Report, error) { return s.sample(ctx), nil })
}
