package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

func cmdLoad(mode string, args []string) error {
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	var c common
	c.register(fs, true)
	sessions, conns, count, rate, dur := 1, 100, 50, 5.0, time.Duration(0)
	if mode == "sessions" {
		sessions, conns, count, rate, dur = 100, 1, 0, 50, 20*time.Second
	}
	fs.IntVar(&sessions, "sessions", sessions, "number of sessions (cookies)")
	fs.IntVar(&conns, "conns", conns, "streams per session")
	fs.IntVar(&count, "count", count, "commands to send (0: rate x duration)")
	fs.DurationVar(&dur, "duration", dur, "how long to send when -count is 0")
	fs.Float64Var(&rate, "rate", rate, "commands per second, all sessions together")
	grace := fs.Duration("grace", 10*time.Second, "after the last command, wait at most this long for missing events")
	settle := fs.Duration("settle", time.Second, "pause after closing the streams before the last server sample")
	verify := fs.Bool("verify", false, "after the drain, compare each stream's latest event with a fresh render of its session (needs -match token)")
	probe := fs.Bool("probe", false, "after the drain, send one more command per session (at -probe-rate) to see which streams still update (needs -match token)")
	probeRate := fs.Float64("probe-rate", 50, "commands per second for -probe")
	fs.Parse(args)
	if err := c.check(true); err != nil {
		return err
	}
	if (*probe || *verify) && c.T.Match != "token" {
		return fmt.Errorf("-probe and -verify need -match token")
	}
	if count == 0 {
		count = int(rate * dur.Seconds())
	}
	if sessions < 1 || conns < 1 || count < 1 || rate <= 0 {
		return fmt.Errorf("need -sessions, -conns, -count (or -duration) and -rate > 0")
	}

	pw := newProcWatch(c.pid)
	pw.mark("before")
	l := &Loader{T: c.T, Sessions: sessions, Conns: conns, Dial: c.dial, Timeout: c.timeout}
	fmt.Printf("%s: %d session(s) x %d stream(s), %d commands at %.1f/s, match=%s\n",
		mode, sessions, conns, count, rate, c.T.Match)
	total := count
	if *probe {
		total += sessions
	}
	took, err := l.Open(total)
	ready := l.readyN.Load()
	fmt.Printf("  connect: %d/%d streams ready in %v\n", ready, sessions*conns, took.Round(time.Millisecond))
	if err != nil {
		fmt.Fprintln(os.Stderr, "sseload: warning:", err)
		if ready == 0 {
			l.Close()
			return err
		}
	}
	pw.mark("ready")
	var series <-chan Series
	stop := make(chan struct{})
	if c.pid != 0 && c.every > 0 {
		series = pw.series(c.every, stop)
	}
	lag := l.Send(0, count, rate)
	drained := l.Drain(0, count, *grace)
	pw.mark("done")
	close(stop)
	r := l.Score(0, count)
	diverged, vfailed := -1, 0
	if *verify {
		diverged, vfailed = l.Verify()
	}
	var pr *Result
	if *probe {
		l.Send(count, total, *probeRate)
		l.Drain(count, total, *grace)
		p := l.Score(count, total)
		pr = &p
	}
	l.Close()
	time.Sleep(*settle)
	pw.mark("closed")
	srvPct, cliPct, srvSec := pw.cpu("ready", "done")

	fmt.Printf("  sent: %d at %.2f/s (max send lag %v), cmd errors %d, completed %.2f/s, answers by status %v\n",
		r.Commands, r.SendRate, lag.Round(time.Microsecond), r.CmdErrors, r.CompleteRate, r.CmdStatus)
	if r.FirstCmdError != "" {
		fmt.Printf("  first cmd error: %s\n", r.FirstCmdError)
	}
	fmt.Printf("  latency, every (command, stream): %v\n", r.Latency)
	fmt.Printf("  latency, last stream of session:  %v\n", r.AllStreams)
	fmt.Printf("  command round trip:               %v\n", r.CmdRTT)
	fmt.Printf("  delivered %d, missed %d, extra %d, untagged %d, streams lost %d, negative %d (drain %v)\n",
		r.Delivered, r.Missed, r.Extra, r.Untagged, r.StreamsLost, r.Negative, drained.Round(time.Millisecond))
	if r.Missed > 0 || r.StaleStreams > 0 {
		fmt.Printf("  misses on %d stream(s); %d misses superseded by a later update; %d stream(s) never showed their session's last command\n",
			r.MissStreams, r.Skipped, r.StaleStreams)
	}
	if diverged >= 0 {
		fmt.Printf("  verify: %d stream(s) end on a different state than a fresh render of their session (%d fresh renders failed)\n",
			diverged, vfailed)
	}
	if pr != nil {
		fmt.Printf("  probe (1 command per session after the drain): %d/%d streams updated, %d never did, cmd errors %d, latency %v\n",
			pr.Delivered, pr.Ready, pr.Missed, pr.CmdErrors, pr.Latency)
	}
	fmt.Printf("  cpu from first command to drained: server %.1f%% (%.2f ms/command), sseload %.1f%% of one core\n",
		srvPct, 1000*srvSec/float64(max(1, r.Commands)), cliPct)
	mach := pw.machine("ready", "done")
	printMachine(mach)
	pw.print()
	srvJSON := pw.json()
	if series != nil {
		ser := <-series
		srvJSON["series"] = ser
		if n := len(ser.RSSKiB); n > 0 {
			fmt.Printf("  server rss every %v while commanding: first %.1fMiB, max %.1fMiB, last %.1fMiB\n",
				c.every, float64(ser.RSSKiB[0])/1024, float64(slices.Max(ser.RSSKiB))/1024, float64(ser.RSSKiB[n-1])/1024)
			fmt.Printf("  server cpu per %v: ", c.every)
			for i := 1; i < n; i++ {
				fmt.Printf("%.0f%% ", 100*(ser.CPUSec[i]-ser.CPUSec[i-1])/c.every.Seconds())
			}
			fmt.Println()
		}
	}

	return c.emit(Record{
		Mode: mode, Machine: mach,
		Params: map[string]any{"sessions": sessions, "conns": conns, "count": count, "rate": rate,
			"grace_s": grace.Seconds()},
		Result: map[string]any{"load": r, "probe": pr, "verify_diverged": diverged, "verify_failed": vfailed, "connect_ms": ms(int64(took)), "send_lag_ms": ms(int64(lag)),
			"server_cpu_pct": srvPct, "server_cpu_ms_per_cmd": 1000 * srvSec / float64(max(1, r.Commands)),
			"client_cpu_pct": cliPct},
		Server: srvJSON,
	})
}

func cmdIdle(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	var c common
	c.register(fs, false)
	n := fs.Int("conns", 1000, "idle streams to open")
	k := fs.Int("sessions", 0, "sessions to spread them over (0: one session per stream); must divide -conns")
	settle := fs.Duration("settle", 5*time.Second, "pause after opening and after closing before sampling")
	window := fs.Duration("window", 30*time.Second, "how long to measure idle CPU")
	fs.Parse(args)
	if err := c.check(false); err != nil {
		return err
	}
	if *k == 0 {
		*k = *n
	}
	if c.pid == 0 || *n < 1 || *k < 1 || *n%*k != 0 {
		return fmt.Errorf("need -pid, -conns >= 1, and -sessions dividing -conns")
	}

	pw := newProcWatch(c.pid)
	pw.mark("before")
	l := &Loader{T: c.T, Sessions: *k, Conns: *n / *k, Dial: c.dial, Timeout: c.timeout}
	fmt.Printf("idle: %d streams over %d session(s)\n", *n, *k)
	took, err := l.Open(0)
	ready := l.readyN.Load()
	fmt.Printf("  connect: %d/%d streams ready in %v\n", ready, *n, took.Round(time.Millisecond))
	if err != nil {
		fmt.Fprintln(os.Stderr, "sseload: warning:", err)
	}
	pw.mark("opened")
	time.Sleep(*settle)
	pw.mark("idle")
	time.Sleep(*window)
	pw.mark("idle_end")
	l.Close()
	time.Sleep(*settle)
	pw.mark("closed")

	b, i, cl := pw.samples["before"], pw.samples["idle"], pw.samples["closed"]
	perConn := float64(i.RSSKiB-b.RSSKiB) * 1024 / float64(max(1, ready))
	srvPct, cliPct, _ := pw.cpu("idle", "idle_end")
	fmt.Printf("  server rss: before %.1fMiB, idle %.1fMiB, after close %.1fMiB -> %.0f bytes/stream\n",
		float64(b.RSSKiB)/1024, float64(i.RSSKiB)/1024, float64(cl.RSSKiB)/1024, perConn)
	fmt.Printf("  server fds %d -> %d -> %d, threads %d -> %d -> %d\n",
		b.FDs, i.FDs, cl.FDs, b.Threads, i.Threads, cl.Threads)
	fmt.Printf("  idle cpu over %v: server %.2f%%, sseload %.2f%% of one core; streams lost %d\n",
		*window, srvPct, cliPct, l.lostN.Load())
	mach := pw.machine("idle", "idle_end")
	printMachine(mach)
	pw.print()
	return c.emit(Record{
		Mode: "idle", Machine: mach,
		Params: map[string]any{"conns": *n, "sessions": *k, "settle_s": settle.Seconds(), "window_s": window.Seconds()},
		Result: map[string]any{"ready": ready, "connect_ms": ms(int64(took)), "bytes_per_stream": perConn,
			"server_idle_cpu_pct": srvPct, "client_idle_cpu_pct": cliPct, "streams_lost": l.lostN.Load()},
		Server: pw.json(),
	})
}

func cmdStartup(args []string) error {
	fs := flag.NewFlagSet("startup", flag.ExitOnError)
	var c common // only -json and -label are used
	url := fs.String("url", "", "URL that must answer 200 (required)")
	logf := fs.String("log", "", "file for the server's stdout/stderr (default: discard)")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	keep := fs.Bool("keep", false, "leave the server running and print its PID")
	waitLog := fs.String("wait-log", "", "after the first 200, also wait for -wait-count lines of the server's output holding this text (e.g. a catch-up's end), and record the time and peak RSS then")
	waitCount := fs.Int("wait-count", 1, "how many -wait-log lines to wait for")
	fs.StringVar(&c.jsonOut, "json", "", "append the result as one JSON line to this file")
	fs.StringVar(&c.label, "label", "", "free-form label stored in the JSON record")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: sseload startup -url URL [flags] -- server-command [args]")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if *url == "" || fs.NArg() == 0 {
		fs.Usage()
		os.Exit(2)
	}
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	var output io.Writer = io.Discard
	if *logf != "" {
		f, err := os.Create(*logf)
		if err != nil {
			return err
		}
		defer f.Close()
		output = f
	}
	// Every line of the server's output is scanned for -wait-log.
	pr, pw := io.Pipe()
	defer pw.Close()
	cmd.Stdout, cmd.Stderr = pw, pw
	seen := make(chan struct{}, 1<<16)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			fmt.Fprintln(output, sc.Text())
			if *waitLog != "" && strings.Contains(sc.Text(), *waitLog) {
				seen <- struct{}{}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var up time.Duration
	for up == 0 {
		select {
		case err := <-exited:
			return fmt.Errorf("server exited before answering: %v", err)
		default:
		}
		if time.Since(t0) > *timeout {
			cmd.Process.Kill()
			return fmt.Errorf("no 200 from %s within %v", *url, *timeout)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", *url, nil)
		if resp, err := client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				up = time.Since(t0)
			}
		}
		cancel()
		if up == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	ps, _ := sampleProc(cmd.Process.Pid)
	fmt.Printf("startup: first 200 after %v, rss %.1fMiB, pid %d\n",
		up.Round(time.Millisecond), float64(ps.RSSKiB)/1024, cmd.Process.Pid)
	res := map[string]any{"first_200_ms": ms(int64(up)), "rss_kib": ps.RSSKiB}
	if *waitLog != "" {
		for n := 0; n < *waitCount; n++ {
			select {
			case <-seen:
			case err := <-exited:
				return fmt.Errorf("server exited before logging %q %d times: %v", *waitLog, *waitCount, err)
			case <-time.After(max(0, *timeout-time.Since(t0))):
				cmd.Process.Kill()
				return fmt.Errorf("%q not logged %d times within %v", *waitLog, *waitCount, *timeout)
			}
		}
		done := time.Since(t0)
		ps, _ := sampleProc(cmd.Process.Pid)
		fmt.Printf("  %d× %q after %v, peak rss %.1fMiB\n", *waitCount, *waitLog, done.Round(time.Millisecond), float64(ps.HWMKiB)/1024)
		res["wait_log_ms"], res["peak_rss_kib"] = ms(int64(done)), ps.HWMKiB
	}
	if *keep {
		fmt.Println(cmd.Process.Pid)
	} else {
		t1 := time.Now()
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		down := time.Since(t1)
		fmt.Printf("  stopped (SIGINT) in %v\n", down.Round(time.Millisecond))
		res["shutdown_ms"] = ms(int64(down))
	}
	return c.emit(Record{Mode: "startup", Params: map[string]any{"url": *url, "argv": fs.Args()}, Result: res})
}
