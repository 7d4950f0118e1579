package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// cmdSummarize prints, per scenario, one markdown table with a column per
// label: the median (min–max) of each figure over the runs of that label.
func cmdSummarize(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: sseload summarize FILE.jsonl")
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	return summarize(f, os.Stdout)
}

// column is one figure of a table: a path into a JSON record, scaled.
type column struct {
	name   string
	path   string // dot-separated; "" counts the runs
	digits int
	scale  float64
}

var (
	loadColumns = []column{
		{"runs", "", 0, 1},
		{"streams ready", "result.load.streams_ready", 0, 1},
		{"sent/s", "result.load.send_rate", 1, 1},
		{"done/s", "result.load.complete_rate", 1, 1},
		{"answers 2xx", "result.load.cmd_status.200", 0, 1},
		{"answers 429", "result.load.cmd_status.429", 0, 1},
		{"answers 503", "result.load.cmd_status.503", 0, 1},
		{"answers 500", "result.load.cmd_status.500", 0, 1},
		{"cmd → stream p50 ms", "result.load.latency.p50_ms", 1, 1},
		{"cmd → stream p99 ms", "result.load.latency.p99_ms", 1, 1},
		{"cmd → stream max ms", "result.load.latency.max_ms", 1, 1},
		{"cmd round trip p99 ms", "result.load.cmd_rtt.p99_ms", 1, 1},
		{"missed", "result.load.missed", 0, 1},
		{"stale streams", "result.load.stale_streams", 0, 1},
		{"server CPU ms/cmd", "result.server_cpu_ms_per_cmd", 3, 1},
		{"RSS ready MiB", "server.ready.rss_kib", 0, 1.0 / 1024},
		{"RSS peak MiB", "server.done.hwm_kib", 0, 1.0 / 1024},
		{"other processes, cores", "machine.other_cores", 2, 1},
	}
	idleColumns = []column{
		{"runs", "", 0, 1},
		{"streams ready", "result.ready", 0, 1},
		{"RSS before MiB", "server.before.rss_kib", 1, 1.0 / 1024},
		{"RSS idle MiB", "server.idle.rss_kib", 1, 1.0 / 1024},
		{"RSS per stream KiB", "result.bytes_per_stream", 1, 1.0 / 1024},
		{"idle CPU % of a core", "result.server_idle_cpu_pct", 2, 1},
		{"threads idle", "server.idle.threads", 0, 1},
		{"other processes, cores", "machine.other_cores", 2, 1},
	}
	startupColumns = []column{
		{"runs", "", 0, 1},
		{"first 200 ms", "result.first_200_ms", 1, 1},
		{"RSS at first 200 MiB", "result.rss_kib", 1, 1.0 / 1024},
		{"caught up s", "result.wait_log_ms", 1, 1.0 / 1000},
		{"RSS peak until caught up MiB", "result.peak_rss_kib", 1, 1.0 / 1024},
		{"shutdown ms", "result.shutdown_ms", 1, 1},
	}
)

func summarize(r io.Reader, w io.Writer) error {
	type group struct {
		mode, label string
		recs        []map[string]any
	}
	var groups []*group
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("summarize: %w", err)
		}
		mode, _ := rec["mode"].(string)
		label, _ := rec["label"].(string)
		if label == "" {
			label = mode
		}
		i := slices.IndexFunc(groups, func(g *group) bool { return g.mode == mode && g.label == label })
		if i < 0 {
			groups = append(groups, &group{mode: mode, label: label})
			i = len(groups) - 1
		}
		groups[i].recs = append(groups[i].recs, rec)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for _, t := range []struct {
		title string
		modes []string
		cols  []column
	}{
		{"Startup", []string{"startup"}, startupColumns},
		{"Fan-out", []string{"fanout"}, loadColumns},
		{"Sessions", []string{"sessions"}, loadColumns},
		{"Idle streams", []string{"idle"}, idleColumns},
	} {
		var labels []string
		var runs [][]map[string]any
		for _, g := range groups {
			if slices.Contains(t.modes, g.mode) {
				labels, runs = append(labels, g.label), append(runs, g.recs)
			}
		}
		if len(labels) == 0 {
			continue
		}
		fmt.Fprintf(w, "### %s\n\nmedian (min–max) over runs\n\n", t.title)
		fmt.Fprintf(w, "| | %s |\n|---%s|\n", strings.Join(labels, " | "), strings.Repeat("|---", len(labels)))
		for _, c := range t.cols {
			cells := make([]string, len(runs))
			for i, recs := range runs {
				cells[i] = cell(recs, c)
			}
			fmt.Fprintf(w, "| %s | %s |\n", c.name, strings.Join(cells, " | "))
		}
		fmt.Fprintln(w)
	}
	return nil
}

// cell is the median (min–max) of a column over runs, "-" if none has it.
func cell(recs []map[string]any, c column) string {
	if c.path == "" {
		return strconv.Itoa(len(recs))
	}
	var vals []float64
	for _, rec := range recs {
		if v, ok := lookup(rec, c.path); ok {
			vals = append(vals, v*c.scale)
		}
	}
	if len(vals) == 0 {
		return "-"
	}
	slices.Sort(vals)
	format := func(v float64) string { return strconv.FormatFloat(v, 'f', c.digits, 64) }
	median := vals[len(vals)/2]
	if len(vals)%2 == 0 {
		median = (vals[len(vals)/2-1] + median) / 2
	}
	if vals[0] == vals[len(vals)-1] {
		return format(median)
	}
	return fmt.Sprintf("%s (%s–%s)", format(median), format(vals[0]), format(vals[len(vals)-1]))
}

func lookup(rec map[string]any, path string) (float64, bool) {
	var v any = rec
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return 0, false
		}
		if v, ok = m[k]; !ok {
			return 0, false
		}
	}
	f, ok := v.(float64)
	return f, ok
}
