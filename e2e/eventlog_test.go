//ironstar:needs todo

package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"ironstar/es"
	"ironstar/internal/poll"
	"ironstar/nats/eventstore"
)

// eventLogToken is the ADMIN_TOKEN of the event log's tests.
const eventLogToken = "event-log-test-admin-token"

// pageRows is how many rows the event log page keeps as live events come
// in (features/eventlog's keepRows).
const pageRows = 500

// eventLogRows is the list's sequences as the page shows them, top down.
const eventLogRows = `[...document.querySelectorAll("#event-rows > tr.event")].map(tr => Number(tr.dataset.seq))`

// startOperatorApp starts the app with ADMIN_TOKEN and an embedded NATS
// server on a TCP port, on port and dataDir if given.
func startOperatorApp(t *testing.T, opts appOptions) *app {
	t.Helper()
	opts.env = append(opts.env, "ADMIN_TOKEN="+eventLogToken)
	if !slices.ContainsFunc(opts.env, func(s string) bool { return strings.HasPrefix(s, "NATS_PORT=") }) {
		opts.env = append(opts.env, "NATS_PORT="+freePort(t))
	}
	return startApp(t, opts)
}

// storedEvents are every event in the app's store, oldest first, read
// past the app through its embedded NATS server.
func storedEvents(t *testing.T, a *app) []es.Envelope {
	t.Helper()
	events, err := eventstore.Open(embeddedJetStream(t, a.NATSPort)).ReadBetween(t.Context(), "", 0, math.MaxUint64)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// newestFirst is the events' sequences, newest first: the log's order.
func newestFirst(events []es.Envelope) []uint64 {
	seqs := make([]uint64, len(events))
	for i, e := range events {
		seqs[len(events)-1-i] = e.Sequence
	}
	return seqs
}

// signInOperator signs the browser in through the form; it lands on the
// event log.
func signInOperator(t *testing.T, b *browser, a *app) {
	t.Helper()
	b.do(t,
		chromedp.Navigate(a.URL+"/operator/sign-in"),
		chromedp.SendKeys(chromedp.ID("token"), eventLogToken),
		chromedp.Submit(chromedp.ID("token")),
	)
	b.until(t, `location.pathname === "/events" && !!document.getElementById("event-rows")`)
}

// addTodos adds n todos titled prefix-0… through the HTTP client.
func addTodos(t *testing.T, c *client, prefix string, n int) {
	t.Helper()
	for i := range n {
		if res, body := c.command(http.MethodPost, "/todos", fmt.Sprintf(`{"title":"%s-%d"}`, prefix, i)); res.StatusCode != http.StatusOK {
			t.Fatalf("add %s-%d = %d %s", prefix, i, res.StatusCode, body)
		}
	}
}

// logGaps describes how seen, a list the page shows, differs from want:
// missing, repeated and misplaced sequences.
func logGaps(seen, want []uint64) string {
	count := map[uint64]int{}
	for _, s := range seen {
		count[s]++
	}
	var missing, repeated []uint64
	for _, w := range want {
		if count[w] == 0 {
			missing = append(missing, w)
		}
	}
	for s, n := range count {
		if n > 1 {
			repeated = append(repeated, s)
		}
	}
	slices.Sort(repeated)
	ordered := slices.IsSortedFunc(seen, func(a, b uint64) int { return int(b) - int(a) })
	return fmt.Sprintf("%d shown, %d stored; missing %v; repeated %v; newest first: %t", len(seen), len(want), missing, repeated, ordered)
}

// TestEventLogKeepsEveryEventOnceThroughAKillNine opens the event log in
// Chromium, writes todos from another client without pause, kills the
// server (SIGKILL, dropping the page's stream) while they are being
// written, and starts it again on the same data and port. The page's
// stream reconnects with Last-Event-ID and replays from JetStream: in the
// end the page lists every stored event (every acknowledged one among
// them), exactly once, newest first, with no gap.
func TestEventLogKeepsEveryEventOnceThroughAKillNine(t *testing.T) {
	t.Parallel()
	opts := appOptions{dataDir: t.TempDir(), port: freePort(t), env: []string{"NATS_PORT=" + freePort(t)}}
	a := startOperatorApp(t, opts)
	writer := newClient(t, a.URL)
	addTodos(t, writer, "before", 5)

	b := newBrowser(t)
	signInOperator(t, b, a)
	b.do(t, waitJS(eventLogRows+`.length >= 5`))

	var (
		mu    sync.Mutex
		acked []string
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		writer.keepAddingTodos("during", stop, func(title string) {
			mu.Lock()
			acked = append(acked, title)
			mu.Unlock()
		})
	})
	// Killed mid-writing, with the page following live.
	waitFor(t, 20*time.Second, "40 todos acknowledged and shown live", func() bool {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		return n >= 40 && eval[int](t, b, eventLogRows+".length") >= 30
	})
	a.kill(t)
	close(stop)
	wg.Wait()

	a = startOperatorApp(t, opts)
	addTodos(t, writer, "after", 40) // while the page reconnects
	events := storedEvents(t, a)
	want := newestFirst(events)
	// The page keeps the newest pageRows rows once its stream has pushed
	// past them (a slow browser lets the writer store hundreds before the
	// kill): it lists the newest stored events, all of them or at least
	// pageRows, with no gap.
	var seen []uint64
	if !poll.Within(30*time.Second, func() bool {
		seen = eval[[]uint64](t, b, eventLogRows)
		return len(seen) >= min(len(want), pageRows) && len(seen) <= len(want) && slices.Equal(seen, want[:len(seen)])
	}) {
		t.Fatalf("the page does not list the newest stored events: %s", logGaps(seen, want[:min(len(want), max(len(seen), pageRows))]))
	}

	mu.Lock()
	defer mu.Unlock()
	for _, title := range acked {
		if !slices.ContainsFunc(events, func(e es.Envelope) bool { return strings.Contains(string(e.Data), `"`+title+`"`) }) {
			t.Errorf("acknowledged todo %q is not stored", title)
		}
	}
	b.mu.Lock()
	resumed := slices.ContainsFunc(b.resumes, func(r string) bool { return strings.Contains(r, "/events/updates") })
	b.mu.Unlock()
	if !resumed {
		t.Errorf("the stream never came back with Last-Event-ID; requests with it: %v", b.resumes)
	}
	t.Logf("%d events listed once each, %d of them acknowledged during the kill", len(want), len(acked))
	b.screenshot(t, "eventlog-after-kill")
	// The dropped stream shows as errors until the new process answers.
	b.checkClean(t, "/events/updates", "error: network error", "Failed to fetch", "ERR_CONNECTION_REFUSED")
}

// rowSequences are the sequences of the rows in an HTML page or frame,
// in the order they stand.
func rowSequences(html string) []uint64 {
	var seqs []uint64
	for _, m := range regexp.MustCompile(`class="event" data-seq="(\d+)"`).FindAllStringSubmatch(html, -1) {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		seqs = append(seqs, n)
	}
	return seqs
}

// streamRows reads frames until they hold n rows, and returns the list
// they make: each frame's rows go on top of the ones before.
func streamRows(t *testing.T, r *sseReader, n int) []uint64 {
	t.Helper()
	var list []uint64
	for len(list) < n {
		list = append(rowSequences(nextEvent(t, r)), list...)
	}
	return list
}

// nextEvent is the stream's next frame that is an event, not a heartbeat.
func nextEvent(t *testing.T, r *sseReader) string {
	t.Helper()
	for {
		if frame := r.next(t); !strings.HasPrefix(frame, ":") {
			return frame
		}
	}
}

// TestEventLogIsAnOperatorsFilteredPagedAndReplayed: with ADMIN_TOKEN
// set, the log and its stream answer 404 to anyone without it; a bad
// filter is a 400 that says why; a filter picks the events the page, its
// replay and its live frames show; Older gives the page before the oldest
// row shown, in the browser too.
func TestEventLogIsAnOperatorsFilteredPagedAndReplayed(t *testing.T) {
	t.Parallel()
	a := startOperatorApp(t, appOptions{})
	alice, bob := newClient(t, a.URL), newClient(t, a.URL)
	addTodos(t, alice, "alice", 3)
	addTodos(t, bob, "bob", 2)
	// One more of another type: alice completes her first todo (not all:
	// a reactor adds an event when a list is all done).
	first := storedEvents(t, a)[0]
	var added struct{ ID string }
	if err := json.Unmarshal(first.Data, &added); err != nil {
		t.Fatal(err)
	}
	if res, body := alice.command(http.MethodPost, "/todos/"+added.ID+"/complete", `{}`); res.StatusCode != http.StatusOK {
		t.Fatalf("complete = %d %s", res.StatusCode, body)
	}
	events := storedEvents(t, a)
	aliceList := first.Stream
	last := events[len(events)-1].Sequence
	if last != 6 || events[5].Type != "todo.completed" || events[3].Stream == aliceList {
		t.Fatalf("stored %d events, want alice's 3 adds, bob's 2, alice's completion: %+v", len(events), events)
	}

	bearer := map[string]string{"Authorization": "Bearer " + eventLogToken}
	for _, path := range []string{"/events", "/events/updates", "/events/older?before=5"} {
		if res, _ := alice.do(http.MethodGet, path, "", nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s without credentials = %d, want 404", path, res.StatusCode)
		}
		if res, _ := alice.do(http.MethodGet, path, "", map[string]string{"Authorization": "Bearer not-the-token-but-as-long-as-it"}); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s with a wrong token = %d, want 404", path, res.StatusCode)
		}
	}
	if res, body := alice.do(http.MethodGet, "/events", "", bearer); res.StatusCode != http.StatusOK || !slices.Equal(rowSequences(body), []uint64{6, 5, 4, 3, 2, 1}) {
		t.Fatalf("GET /events with the token = %d, rows %v:\n%s", res.StatusCode, rowSequences(body), body)
	}
	// The stream's headers come before any event: a 200 at once. (Go's
	// client gives the response once the headers are in.)
	res, _ := (&http.Client{Timeout: 10 * time.Second}).Do(func() *http.Request {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, a.URL+"/events/updates", nil)
		req.Header.Set("Authorization", "Bearer "+eventLogToken)
		return req
	}())
	if res == nil || res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /events/updates with the token = %v", res)
	}
	res.Body.Close()

	for path, problem := range map[string]string{
		"/events?aggregate=todo.*":                     "aggregate type or ID",
		"/events?id=" + aliceList.ID:                   "needs its aggregate type",
		"/events/updates?aggregate=%3E":                "aggregate type or ID",
		"/events/updates?type=a%20b":                   "event type",
		"/events/updates?after=-1":                     "after is a sequence",
		"/events/older?before=x":                       "before is a sequence",
		"/events/older?aggregate=todo&id=a.b&before=3": "aggregate type or ID",
	} {
		if res, body := alice.do(http.MethodGet, path, "", bearer); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, problem) {
			t.Errorf("GET %s = %d %q, want 400 saying %q", path, res.StatusCode, body, problem)
		}
	}

	// The sign-in form's cookie is an operator's too: the streams below
	// go with it.
	if res, _ := alice.do(http.MethodPost, "/operator/sign-in", "token="+eventLogToken, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); res.StatusCode != http.StatusOK {
		t.Fatalf("sign in = %d", res.StatusCode)
	}
	mine := openStream(t, alice, a.URL+"/events/updates?aggregate=todo&id="+aliceList.ID+"&after=0", "")
	if got := streamRows(t, mine, 4); !slices.Equal(got, []uint64{6, 3, 2, 1}) {
		t.Errorf("alice's list replayed from 0 as rows %v, want 6 3 2 1 (newest on top)", got)
	}
	marked := openStream(t, alice, a.URL+"/events/updates?type=todo.completed&after=0", "")
	if frame := nextEvent(t, marked); !slices.Equal(rowSequences(frame), []uint64{6}) || frameID(frame) != "6" {
		t.Errorf("todo.completed replayed as rows %v, id %s, want 6", rowSequences(frame), frameID(frame))
	}
	// Resumed with Last-Event-ID, a stream starts after it, whatever its
	// URL's after says.
	resumed := openStream(t, alice, a.URL+"/events/updates?aggregate=todo&id="+aliceList.ID+"&after=0", "2")
	if got := streamRows(t, resumed, 2); !slices.Equal(got, []uint64{6, 3}) {
		t.Errorf("alice's list resumed after 2 as rows %v, want 6 3", got)
	}
	// Live: bob's add first, then alice's; her stream gets only hers.
	addTodos(t, bob, "bob-live", 1)
	addTodos(t, alice, "alice-live", 1)
	if frame := nextEvent(t, mine); !slices.Equal(rowSequences(frame), []uint64{8}) || frameID(frame) != "8" {
		t.Errorf("alice's live frame: rows %v, id %s, want 8", rowSequences(frame), frameID(frame))
	}

	// Paging: 120 more events; the page shows the newest 50, Older the 50
	// before the oldest shown.
	addTodos(t, bob, "more", 120)
	want := newestFirst(storedEvents(t, a))
	_, body := alice.do(http.MethodGet, "/events", "", bearer)
	if got := rowSequences(body); !slices.Equal(got, want[:50]) {
		t.Fatalf("the first page = %v, want %v", got, want[:50])
	}
	older := fmt.Sprintf("/events/older?before=%d", want[49])
	if _, body := alice.do(http.MethodGet, older, "", bearer); !slices.Equal(rowSequences(body), want[50:100]) {
		t.Errorf("GET %s = %v, want %v", older, rowSequences(body), want[50:100])
	}
	if _, body := alice.do(http.MethodGet, "/events/older?type=todo.completed&before=100", "", bearer); !slices.Equal(rowSequences(body), []uint64{6}) || !strings.Contains(body, "log-start") {
		t.Errorf("all-marked before 100 = %v, want 6 and the start of the log:\n%s", rowSequences(body), body)
	}

	// In the browser: the newest page, then Older twice reaches the start.
	b := newBrowser(t)
	signInOperator(t, b, a)
	b.do(t, waitJS(eventLogRows+".length === 50"))
	b.screenshot(t, "eventlog")
	b.do(t,
		chromedp.Click(chromedp.ID("event-log-older")),
		waitJS(eventLogRows+".length === 100"),
		chromedp.Click(chromedp.ID("event-log-older")),
		waitJS(eventLogRows+".length === "+strconv.Itoa(len(want))),
		waitJS(`!!document.querySelector("#event-rows > tr.log-start:last-child") && getComputedStyle(document.querySelector(".event-log-older")).display === "none"`),
	)
	if got := eval[[]uint64](t, b, eventLogRows); !slices.Equal(got, want) {
		t.Errorf("after paging to the start the page shows %s", logGaps(got, want))
	}
	// A live event lands on top.
	addTodos(t, alice, "on-top", 1)
	b.do(t, waitJS(eventLogRows+".length === "+strconv.Itoa(len(want)+1)))
	if top := eval[uint64](t, b, eventLogRows+"[0]"); top != want[0]+1 {
		t.Errorf("the newest row is %d, want %d", top, want[0]+1)
	}
	// A flood of live events: the page keeps the newest 500 rows, and
	// Older goes on below the last row kept.
	addTodos(t, bob, "flood", 520)
	want = newestFirst(storedEvents(t, a))
	b.do(t, waitJS(eventLogRows+"[0] === "+strconv.FormatUint(want[0], 10)+" && "+eventLogRows+".length === "+strconv.Itoa(pageRows)))
	if got := eval[[]uint64](t, b, eventLogRows); !slices.Equal(got, want[:pageRows]) {
		t.Errorf("after the flood the page shows %s", logGaps(got, want[:pageRows]))
	}
	b.do(t,
		chromedp.Click(chromedp.ID("event-log-older")),
		waitJS(eventLogRows+".length === 550"),
	)
	if got := eval[[]uint64](t, b, eventLogRows); !slices.Equal(got, want[:550]) {
		t.Errorf("Older after the flood: the page shows %s", logGaps(got, want[:550]))
	}
	// The filter form: one aggregate's events only.
	b.do(t,
		chromedp.Navigate(a.URL+"/events?aggregate=todo&id="+aliceList.ID),
		waitJS(eventLogRows+".length === 6"),
	)
	b.screenshot(t, "eventlog-filtered")
	b.checkClean(t)
}
