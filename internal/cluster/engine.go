//ironstar:needs analytics

package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"ironstar/features/analytics/dashboard"
	"ironstar/nats/leader"
)

// DefaultEngines is the number of analytics engines: one active, one
// standing by.
const DefaultEngines = 2

// EngineOptions describe the analytics engines (cmd/analytics) of a
// cluster: several, as an operator runs them, one active and the others
// standing by with their copies current.
type EngineOptions struct {
	// Bin is the engine binary.
	Bin string
	// Dir holds each engine's DATA_DIR (Dir/engine1, ...): every engine
	// has a DuckDB file of its own.
	Dir string
	// Count is the number of engines (DefaultEngines if 0).
	Count int
	// Env points them at NATS as the app instances are (NATS_URL,
	// NATS_REPLICAS, ...).
	Env []string
	// Output gives the writer of each engine's log (discarded if nil).
	Output func(name string) io.Writer
}

// StartEngines starts the engines, named engine1, engine2, ...
func StartEngines(opts EngineOptions) ([]*Process, error) {
	if opts.Count == 0 {
		opts.Count = DefaultEngines
	}
	var engines []*Process
	for i := range opts.Count {
		name := fmt.Sprintf("engine%d", i+1)
		var output io.Writer
		if opts.Output != nil {
			output = opts.Output(name)
		}
		p, err := StartProcess(ProcessOptions{
			Name: name, Bin: opts.Bin, Output: output,
			Env: append(append([]string(nil), opts.Env...), "DATA_DIR="+filepath.Join(opts.Dir, name)),
		})
		if err != nil {
			for _, e := range engines {
				e.Kill()
			}
			return nil, err
		}
		engines = append(engines, p)
	}
	return engines, nil
}

// ActiveEngine finds which of the running engines holds the analytics
// lease, and what the lease names (cmd/analytics's host:pid). active is
// nil when none does: holder is then "" (no lease) or names another
// process, such as an engine killed before its lease ran out.
func ActiveEngine(ctx context.Context, js jetstream.JetStream, engines []*Process) (active *Process, holder string, err error) {
	holder, ok, err := leader.Holder(ctx, js, dashboard.LeaderBucket, dashboard.LeaderKey)
	if err != nil || !ok {
		return nil, "", err
	}
	// cmd/analytics names itself host:pid in the lease.
	host, _ := os.Hostname()
	for _, e := range engines {
		select {
		case <-e.Exited():
			continue
		default:
		}
		if holder == host+":"+strconv.Itoa(e.PID()) {
			return e, holder, nil
		}
	}
	return nil, holder, nil
}
