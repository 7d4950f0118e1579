package projections

import (
	"fmt"
	"strconv"
	"time"

	"ironstar/features/projections/pages"
	"ironstar/nats/projection"
)

// viewModel is a Report as the page shows it.
func viewModel(report Report) pages.StatusVM {
	vm := pages.StatusVM{At: report.At.Format(time.TimeOnly), CleanupCommand: "bin/app projections cleanup", LeftoversError: report.LeftoversError}
	for _, p := range report.Projections {
		row := pages.ProjectionVM{
			Name:       p.Name,
			Generation: strconv.FormatUint(p.Generation, 10),
			Version:    strconv.Itoa(p.Version),
			Position:   strconv.FormatUint(p.Position, 10),
			Lag:        strconv.FormatUint(p.Lag, 10),
			Rate:       fmt.Sprintf("%.0f", p.EventsPerSecond),
			State:      p.State(),
			Error:      p.Error,
			LastError:  p.LastError,
			Parked:     p.Parked,
			Path:       RebuildPath(p.Name),
			Command:    "bin/app projections rebuild " + p.Name,
		}
		if !p.LastErrorAt.IsZero() {
			row.LastErrorAt = p.LastErrorAt.Format(time.DateTime) + " UTC"
		}
		if p.LastRebuildError != "" {
			row.RebuildFailed = p.LastRebuildAt.Format(time.DateTime) + " UTC: " + p.LastRebuildError
		}
		if f := p.FirstParked; f != nil {
			row.FirstParked = parked(f.Seq, f.Key, f.Error)
		}
		if b := p.Rebuild; b != nil {
			row.Rebuild = &pages.RebuildVM{
				Generation: strconv.FormatUint(b.Generation, 10), Version: strconv.Itoa(b.Version),
				Position: b.Position, Total: max(b.Total, 1), Rate: strconv.FormatUint(b.EventsPerSecond, 10), Owner: b.Owner,
				Progress: fmt.Sprintf("%d / %d", b.Position, b.Total),
			}
		}
		vm.Projections = append(vm.Projections, row)
	}
	for _, r := range report.Reactors {
		row := pages.ReactorVM{
			Name:     r.Name,
			Position: strconv.FormatUint(r.Position, 10),
			Lag:      strconv.FormatUint(r.Lag, 10),
			Handled:  strconv.FormatUint(r.Handled, 10),
			Retrying: r.Retrying,
			Parked:   len(r.Parked),
			Error:    r.Error,
		}
		for _, e := range r.Parked {
			seq := strconv.FormatUint(e.Seq, 10)
			row.ParkedEvents = append(row.ParkedEvents, pages.ParkedEventVM{
				Seq: seq, Type: e.Type, Attempts: strconv.Itoa(e.Attempts), Error: e.Error,
				At:   e.At.UTC().Format(time.DateTime) + " UTC",
				Path: RedrivePath(r.Name, e.Seq), Command: "bin/app projections redrive " + r.Name + " " + seq,
			})
		}
		vm.Reactors = append(vm.Reactors, row)
	}
	for _, l := range report.Leftovers {
		vm.Leftovers = append(vm.Leftovers, leftover(l))
	}
	return vm
}

// State says in a word or two how the projection is doing.
func (p ProjectionReport) State() string {
	switch {
	case p.Error != "":
		return "unknown"
	case p.Rebuild != nil:
		return "rebuilding"
	case p.CatchingUp:
		return "catching up"
	case p.Parked > 0:
		return "degraded"
	case p.Lag > 0:
		return "behind"
	}
	return "up to date"
}

func parked(seq uint64, key, err string) string {
	if key != "" {
		return fmt.Sprintf("event %d on key %q: %s", seq, key, err)
	}
	return fmt.Sprintf("event %d: %s", seq, err)
}

func leftover(l projection.Leftover) pages.LeftoverVM {
	vm := pages.LeftoverVM{Kind: l.Kind, Name: l.Name, Projection: l.Projection, Reason: l.Reason}
	if l.Generation != 0 {
		vm.Generation = strconv.FormatUint(l.Generation, 10)
	}
	return vm
}
