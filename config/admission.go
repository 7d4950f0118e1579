package config

import (
	"runtime"
	"time"
)

// Admission bounds the commands the process works on at once (see
// command.Admission): past the bound a command waits briefly for a place,
// then is refused with 503 and Retry-After instead of queued.
type Admission struct {
	// MaxInFlight is how many commands run at once (COMMAND_MAX_INFLIGHT);
	// 0 turns the bound off.
	MaxInFlight int
	// MaxQueued is how many more may wait for a place (COMMAND_MAX_QUEUED).
	MaxQueued int
	// QueueTimeout is how long one waits at most (COMMAND_QUEUE_TIMEOUT).
	QueueTimeout time.Duration
}

// Defaults of the admission bound; docs/08-configuration.md lists them.
const (
	// A command spends most of its few milliseconds waiting on NATS, so a
	// core keeps several busy; more in flight only lengthens the queue
	// inside NATS.
	DefaultCommandsInFlightPerCPU = 8
	// A queue four times the places drains within a few times a command's
	// latency at capacity.
	DefaultCommandsQueuedPerInFlight = 4
	// Long enough to ride out a burst, short enough that a refused client
	// hears it long before a person would notice.
	DefaultCommandQueueTimeout = 200 * time.Millisecond
)

// parseAdmission reads the COMMAND_* settings.
func parseAdmission(get func(key, def string) string, fail func(key, val, why string)) Admission {
	a := Admission{
		MaxInFlight: count(get, fail, "COMMAND_MAX_INFLIGHT", DefaultCommandsInFlightPerCPU*runtime.GOMAXPROCS(0), 0, "must be a number of commands, or 0 for no bound"),
	}
	a.MaxQueued = count(get, fail, "COMMAND_MAX_QUEUED", DefaultCommandsQueuedPerInFlight*a.MaxInFlight, 0, "must be a number of commands (0: refuse at once when all places are taken)")
	text := get("COMMAND_QUEUE_TIMEOUT", DefaultCommandQueueTimeout.String())
	if d, err := time.ParseDuration(text); err == nil && d > 0 && d <= 10*time.Second {
		a.QueueTimeout = d
	} else {
		fail("COMMAND_QUEUE_TIMEOUT", text, "must be a duration above 0 and at most 10s, e.g. 200ms")
	}
	return a
}
