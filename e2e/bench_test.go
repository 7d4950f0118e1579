//ironstar:needs todo

package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// The todo stream's costs, measured on the real binary from outside:
//
//	go test ./e2e -run '^$' -bench Todo -benchtime 200x
//
// Every iteration is one command (alternately completing and reopening one
// todo, so the list keeps its size) and waits until every open stream has
// received the patch it caused.

func BenchmarkTodoCommandToPatch(b *testing.B) {
	for _, streams := range []int{1, 100} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			_, c, item := benchApp(b)
			s := openStreams(b, c, streams)
			defer s.close()
			var latencies []time.Duration
			for i := 0; b.Loop(); i++ {
				sent := time.Now()
				toggle(b, c, item, i)
				for _, at := range s.next(b) {
					latencies = append(latencies, at.Sub(sent))
				}
			}
			slices.Sort(latencies)
			b.ReportMetric(ms(latencies[len(latencies)/2]), "p50-ms")
			b.ReportMetric(ms(latencies[len(latencies)*99/100]), "p99-ms")
		})
	}
}

// BenchmarkTodoFanout keeps 1,000 streams of one session open and reports
// the server's CPU time per stream-update, and the growth of its resident
// memory per open stream.
func BenchmarkTodoFanout(b *testing.B) {
	const streams = 1000
	a, c, item := benchApp(b)
	pid := a.cmd.Process.Pid
	s := openStreams(b, c, streams)
	defer s.close()
	// Memory per stream: what 1,000 more streams add to the first 1,000
	// (the first batch also pays for warming up the server's pools).
	before := rssKB(b, pid)
	more := openStreams(b, c, streams)
	perStream := float64(rssKB(b, pid)-before) / streams
	more.close()

	cpuBefore := cpuTime(b, pid)
	for i := 0; b.Loop(); i++ {
		toggle(b, c, item, i)
		s.next(b)
	}
	cpu := cpuTime(b, pid) - cpuBefore
	b.ReportMetric(ms(cpu)/float64(b.N*streams), "ms-CPU/stream-update")
	b.ReportMetric(perStream, "KB-RSS/stream")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchApp starts the app (with env added to its environment) with one
// session holding one todo. The benchmarks open up to 2,000 streams of that
// one session, so the per-session stream cap is lifted (launchApp lifts the
// per-client one).
func benchApp(b *testing.B, env ...string) (*app, *client, string) {
	b.Helper()
	a := startApp(b, appOptions{env: append([]string{"HTTP_MAX_STREAMS_PER_SESSION=100000"}, env...)})
	c := newClient(b, a.URL)
	if res, _ := c.command(http.MethodPost, "/todos", `{"title":"flip me"}`); res.StatusCode != 200 {
		b.Fatalf("add = %d", res.StatusCode)
	}
	var item string
	waitFor(b, 10*time.Second, "the todo", func() bool {
		_, page := c.do(http.MethodGet, "/", "", nil)
		if i := strings.Index(page, `<li id="todo-`); i >= 0 {
			item = page[i+len(`<li id="todo-`):]
			item = item[:strings.IndexByte(item, '"')]
			return true
		}
		return false
	})
	return a, c, item
}

func toggle(b *testing.B, c *client, item string, i int) {
	b.Helper()
	action := "complete"
	if i%2 == 1 {
		action = "reopen"
	}
	if res, body := c.command(http.MethodPost, "/todos/"+item+"/"+action, `{}`); res.StatusCode != 200 {
		b.Fatalf("%s = %d %s", action, res.StatusCode, body)
	}
}

// streamSet is n open update streams and the arrival time of each frame.
type streamSet struct {
	arrivals []chan time.Time
	bodies   []func() error
}

func openStreams(b *testing.B, c *client, n int) *streamSet {
	b.Helper()
	s := &streamSet{}
	transport := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}
	hc := &http.Client{Jar: c.http.Jar, Transport: transport}
	var wg sync.WaitGroup
	for range n {
		req, _ := http.NewRequest(http.MethodGet, c.base+"/todos/updates", nil)
		req.Header.Set("Datastar-Request", "true") // as the page's @get sends it
		res, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		arrivals := make(chan time.Time, 16)
		s.arrivals = append(s.arrivals, arrivals)
		s.bodies = append(s.bodies, res.Body.Close)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := bufio.NewReaderSize(res.Body, 64<<10)
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					close(arrivals)
					return
				}
				if len(line) == 1 { // the blank line that ends a frame
					arrivals <- time.Now()
				}
			}
		}()
	}
	s.next(b) // each stream's first frame: the state on connect
	return s
}

// next waits for one more frame on every stream.
func (s *streamSet) next(b *testing.B) []time.Time {
	b.Helper()
	out := make([]time.Time, len(s.arrivals))
	timeout := time.After(30 * time.Second)
	for i, ch := range s.arrivals {
		select {
		case at, ok := <-ch:
			if !ok {
				b.Fatalf("stream %d closed", i)
			}
			out[i] = at
		case <-timeout:
			b.Fatalf("stream %d got no frame in 30s", i)
		}
	}
	return out
}

func (s *streamSet) close() {
	for _, closeBody := range s.bodies {
		closeBody()
	}
}

// rssKB is the resident memory of a process.
func rssKB(b *testing.B, pid int) int {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.Fields(rest)[0])
			return kb
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// cpuTime is the user+system CPU time a process has used.
func cpuTime(b *testing.B, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which is in parentheses).
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// BenchmarkTodoCommandNATSTraffic counts the NATS messages one command and
// the stream update it causes cost, by kind, with a wiretap: a second
// connection to the app's embedded server (NATS_PORT) subscribed to every
// subject. Each kind is reported per command, by subject: a consumer's
// delivery carries its message's own subject, so "event" counts the append
// and every delivery of it (to each projection and analytics), "kv" a
// read-model or session write and every watch that sees it; "reply" is
// every answer to a request (each message of a batched direct get, say).
//
//	go test ./e2e -run '^$' -bench NATSTraffic -benchtime 500x
func BenchmarkTodoCommandNATSTraffic(b *testing.B) {
	port := freePort(b)
	_, c, item := benchApp(b, "NATS_PORT="+port)
	s := openStreams(b, c, 1)
	defer s.close()
	toggle(b, c, item, 0) // the first command of a process may load more
	s.next(b)

	nc, err := nats.Connect("nats://127.0.0.1:" + port)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	var mu sync.Mutex
	kinds := map[string]int{}
	tap, err := nc.Subscribe(">", func(m *nats.Msg) {
		mu.Lock()
		kinds[trafficKind(m.Subject)]++
		mu.Unlock()
	})
	if err != nil {
		b.Fatal(err)
	}
	defer tap.Unsubscribe()
	if err := nc.Flush(); err != nil {
		b.Fatal(err)
	}
	for i := 1; b.Loop(); i++ {
		toggle(b, c, item, i)
		s.next(b)
	}
	if err := nc.Flush(); err != nil {
		b.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for kind, n := range kinds {
		total += n
		b.ReportMetric(float64(n)/float64(b.N), kind+"/op")
	}
	b.ReportMetric(float64(total)/float64(b.N), "nats-msgs/op")
}

// trafficKind names what a message on subject is.
func trafficKind(subject string) string {
	for _, k := range []struct{ prefix, kind string }{
		{"events.", "event"},
		{"$KV.", "kv"},
		{"$JS.API.DIRECT.GET.", "direct-get"},
		{"$JS.API.STREAM.MSG.GET.", "leader-get"},
		{"$JS.API.CONSUMER.MSG.NEXT.", "pull"},
		{"$JS.API.", "js-api-other"},
		{"$JS.ACK.", "ack"},
		{"$JS.FC.", "flow-control"},
		{"_INBOX.", "reply"},
	} {
		if strings.HasPrefix(subject, k.prefix) {
			return k.kind
		}
	}
	return "other"
}
