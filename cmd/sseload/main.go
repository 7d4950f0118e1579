// Command sseload measures SSE fan-out latency, multi-session command load
// and idle connection cost of a server-rendered SSE app (Datastar style):
// a cookie session, one long-lived event stream per page, and commands whose
// effect comes back as an event on every stream of the session.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

const usage = `usage: sseload <command> [flags]

commands:
  fanout    N streams sharing one session; M commands at a fixed rate;
            latency from each command to its event on every stream
  sessions  S sessions with one stream each; commands round-robin over them
            at R/s; throughput, latency, errors
  idle      server RSS/fds/threads before and after N idle streams, bytes per
            stream, server CPU while idle (needs -pid)
  startup   start a server command, time until URL first answers 200
  summarize FILE.jsonl: a markdown table per scenario of the runs in FILE

Run "sseload <command> -h" for its flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "fanout", "sessions":
		err = cmdLoad(cmd, args)
	case "idle":
		err = cmdIdle(args)
	case "startup":
		err = cmdStartup(args)
	case "summarize":
		err = cmdSummarize(args)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sseload:", err)
		os.Exit(1)
	}
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ", ") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// common holds the flags shared by the load commands.
type common struct {
	T       Target
	cmd     string
	dial    int
	timeout time.Duration
	pid     int
	jsonOut string
	label   string
	every   time.Duration
}

func (c *common) register(fs *flag.FlagSet, withCmd bool) {
	fs.StringVar(&c.T.Page, "page", "", "URL to GET first in each session to obtain its cookie (optional)")
	fs.StringVar(&c.T.SSE, "sse", "", "SSE stream URL (required)")
	if withCmd {
		fs.StringVar(&c.cmd, "cmd", "", `command as "METHOD URL"; URL may contain {seq} and {token} (required)`)
		fs.StringVar(&c.T.Body, "body", "", "command body; may contain {seq} and {token}")
		fs.StringVar(&c.T.CType, "ctype", "application/json", "command body Content-Type")
		fs.StringVar(&c.T.Match, "match", "order", "attribute events to commands by arrival order (order) or by the {token} echoed in the event data (token)")
	}
	fs.Var((*multi)(&c.T.Headers), "H", `extra request header "Name: value" (repeatable)`)
	fs.StringVar(&c.T.Event, "event", "datastar-patch-elements", "SSE event type to count")
	fs.IntVar(&c.T.Initial, "initial", 1, "counted events a stream must receive before it is ready")
	fs.IntVar(&c.dial, "dial", 64, "parallel connection attempts while opening streams")
	fs.DurationVar(&c.timeout, "ready-timeout", 3*time.Minute, "how long to wait for all streams to be ready")
	fs.IntVar(&c.pid, "pid", 0, "server PID: sample its RSS, fds, threads and CPU from /proc")
	fs.DurationVar(&c.every, "sample", 0, "with -pid: also record server RSS and CPU at this interval (e.g. 1s)")
	fs.StringVar(&c.jsonOut, "json", "", "append the result as one JSON line to this file")
	fs.StringVar(&c.label, "label", "", "free-form label stored in the JSON record")
}

func (c *common) check(withCmd bool) error {
	if c.T.SSE == "" {
		return fmt.Errorf("-sse is required")
	}
	if withCmd {
		m, u, ok := strings.Cut(strings.TrimSpace(c.cmd), " ")
		if !ok || u == "" {
			return fmt.Errorf(`-cmd must be "METHOD URL"`)
		}
		c.T.CmdMethod, c.T.CmdURL = strings.ToUpper(m), strings.TrimSpace(u)
		if c.T.Match != "order" && c.T.Match != "token" {
			return fmt.Errorf("-match must be order or token")
		}
		if c.T.Match == "token" && !strings.Contains(c.T.CmdURL+c.T.Body, "{token}") {
			return fmt.Errorf("-match token needs {token} in the command URL or body")
		}
	}
	return nil
}

// Record is the JSON line written by -json.
type Record struct {
	Mode    string         `json:"mode"`
	Label   string         `json:"label,omitempty"`
	Time    time.Time      `json:"time"`
	Target  Target         `json:"target"`
	Params  map[string]any `json:"params"`
	Result  any            `json:"result"`
	Server  map[string]any `json:"server,omitempty"`
	Machine map[string]any `json:"machine,omitempty"`
}

func (c *common) emit(rec Record) error {
	if c.jsonOut == "" {
		return nil
	}
	rec.Label, rec.Time, rec.Target = c.label, time.Now().UTC(), c.T
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(c.jsonOut, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(append(b, '\n'))
	return err
}

// procWatch samples the server (if -pid was given) and this process at
// named points.
type procWatch struct {
	pid     int
	samples map[string]ProcSample
	order   []string
	self    map[string]float64
	at      map[string]time.Time
	host    map[string]HostSample
}

func newProcWatch(pid int) *procWatch {
	return &procWatch{pid: pid, samples: map[string]ProcSample{},
		self: map[string]float64{}, at: map[string]time.Time{}, host: map[string]HostSample{}}
}

func (p *procWatch) mark(name string) {
	p.self[name], p.at[name], p.host[name] = selfCPU(), time.Now(), sampleHost()
	if p.pid == 0 {
		return
	}
	s, err := sampleProc(p.pid)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sseload: sampling pid %d: %v\n", p.pid, err)
		return
	}
	p.samples[name] = s
	p.order = append(p.order, name)
}

// cpu reports server and client CPU between two marks, in % of one core,
// and the server CPU seconds used.
func (p *procWatch) cpu(from, to string) (server, client, serverSec float64) {
	if a, ok := p.samples[from]; ok {
		b := p.samples[to]
		server, serverSec = cpuPct(a, b), b.CPUSec-a.CPUSec
	}
	if d := p.at[to].Sub(p.at[from]).Seconds(); d > 0 {
		client = 100 * (p.self[to] - p.self[from]) / d
	}
	return
}

// machine describes the host between two marks: busy CPUs split into the
// server, sseload and everything else (other tenants = noise).
func (p *procWatch) machine(from, to string) map[string]any {
	a, b := p.host[from], p.host[to]
	srv, cli, _ := p.cpu(from, to)
	busy := busyCores(a, b)
	return map[string]any{"cpus": runtime.NumCPU(), "busy_cores": busy,
		"server_cores": srv / 100, "sseload_cores": cli / 100,
		"other_cores": max(0, busy-srv/100-cli/100),
		"load1_start": a.Load1, "load1_end": b.Load1, "psi_cpu_some10_end": b.PSISome10}
}

func printMachine(m map[string]any) {
	fmt.Printf("  machine: %.2f of %d cpus busy (server %.2f, sseload %.2f, other processes %.2f); load1 %.2f -> %.2f; cpu psi some avg10 %.1f%%\n",
		m["busy_cores"], m["cpus"], m["server_cores"], m["sseload_cores"], m["other_cores"],
		m["load1_start"], m["load1_end"], m["psi_cpu_some10_end"])
}

func (p *procWatch) print() {
	for _, n := range p.order {
		s := p.samples[n]
		fmt.Printf("  server@%-8s rss=%.1fMiB hwm=%.1fMiB fds=%d threads=%d cpu=%.2fs\n",
			n, float64(s.RSSKiB)/1024, float64(s.HWMKiB)/1024, s.FDs, s.Threads, s.CPUSec)
	}
}

// Series is the server's RSS and cumulative CPU seconds at a fixed interval.
type Series struct {
	EveryS float64   `json:"every_s"`
	RSSKiB []int64   `json:"rss_kib"`
	CPUSec []float64 `json:"cpu_s"`
}

// series samples the server every interval until stop is closed.
func (p *procWatch) series(every time.Duration, stop <-chan struct{}) <-chan Series {
	out := make(chan Series, 1)
	go func() {
		ser := Series{EveryS: every.Seconds()}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				out <- ser
				return
			case <-t.C:
				if s, err := sampleProc(p.pid); err == nil {
					ser.RSSKiB = append(ser.RSSKiB, s.RSSKiB)
					ser.CPUSec = append(ser.CPUSec, s.CPUSec)
				}
			}
		}
	}()
	return out
}

func (p *procWatch) json() map[string]any {
	if p.pid == 0 {
		return nil
	}
	m := map[string]any{"pid": p.pid}
	for n, s := range p.samples {
		m[n] = s
	}
	return m
}
