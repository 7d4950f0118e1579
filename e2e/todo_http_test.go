//ironstar:needs todo

package e2e

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// editID finds a todo's id on the page (its row's id).
var editID = regexp.MustCompile(`<li id="todo-([A-Za-z0-9_-]+)"`)

var labelText = regexp.MustCompile(`<label>([^<]*)</label>`)

// todos reads the list as the page renders it.
func (c *client) todos() []string {
	c.t.Helper()
	_, page := c.do(http.MethodGet, "/", "", nil)
	var out []string
	for _, m := range labelText.FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// waitTodos polls the page until it lists want (the read model follows
// the events asynchronously).
func (c *client) waitTodos(want ...string) {
	c.t.Helper()
	waitFor(c.t, 10*time.Second, fmt.Sprintf("todos %q", want), func() bool {
		return fmt.Sprint(c.todos()) == fmt.Sprint(want)
	})
}

func TestTodoCommandsRefuseBadInputAndChangeNothing(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	c := newClient(t, a.URL)
	if res, _ := c.command(http.MethodPost, "/todos", `{"title":"keep me"}`); res.StatusCode != 200 {
		t.Fatalf("add = %d", res.StatusCode)
	}
	c.waitTodos("keep me")
	_, page := c.do(http.MethodGet, "/", "", nil)
	m := editID.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no todo id on the page:\n%s", page)
	}
	item := "/todos/" + m[1]

	cases := []struct {
		name, method, path, body string
		header                   []string
		code                     int
		message                  string
	}{
		{"cross-origin", "POST", "/todos", `{"title":"x"}`, []string{"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"}, 403, ""},
		{"not a Datastar request", "POST", "/todos", `{"title":"x"}`, []string{"Datastar-Request", ""}, 400, "Datastar requests only"},
		{"malformed signals", "POST", "/todos", `{"title":`, nil, 400, "malformed"},
		{"a title of the wrong type", "POST", "/todos", `{"title":["x"]}`, nil, 400, "malformed"},
		{"a body over the limit", "POST", "/todos", `{"title":"` + strings.Repeat("x", 20<<10) + `"}`, nil, 413, "too large"},
		{"text over 500 characters", "POST", "/todos", `{"title":"` + strings.Repeat("x", 501) + `"}`, nil, 422, "500 characters"},
		{"a missing item", "POST", "/todos/nosuchitem/complete", `{}`, nil, 404, "no longer exists"},
		{"renaming a missing item", "PUT", "/todos/nosuchitem", `{"edit":"x"}`, nil, 404, "no longer exists"},
		{"deleting a missing item", "DELETE", "/todos/nosuchitem", `{}`, nil, 404, "no longer exists"},
		{"an item id that is not one", "POST", "/todos/a.b/complete", `{}`, nil, 404, "no longer exists"},
		// A rename to "" deletes: a rename without its signal must not.
		{"a rename without the edit signal", "PUT", item, `{}`, nil, 400, "lacks a signal"},
		{"a rename with null signals", "PUT", item, `null`, nil, 400, "lacks a signal"},
		{"a rename with no body", "PUT", item, ``, nil, 400, "lacks a signal"},
		{"a rename with a null edit", "PUT", item, `{"edit":null,"title":""}`, nil, 400, "lacks a signal"},
		{"an add without the title signal", "POST", "/todos", `{"edit":"x"}`, nil, 400, "lacks a signal"},
		{"an add with no body", "POST", "/todos", ``, nil, 400, "lacks a signal"},
	}
	for _, tc := range cases {
		res, body := c.command(tc.method, tc.path, tc.body, tc.header...)
		if res.StatusCode != tc.code || !strings.Contains(body, tc.message) {
			t.Errorf("%s: %s %s = %d %q; want %d mentioning %q", tc.name, tc.method, tc.path, res.StatusCode, body, tc.code, tc.message)
		}
		if tc.code != 403 && tc.code != 400 && !strings.Contains(body, `id="todo-error"`) {
			t.Errorf("%s: the answer is not the error fragment: %q", tc.name, body)
		}
	}
	// Nothing changed: a command after them lands, and the list is just
	// it and the first (the projection applies events in order, so any
	// change the bad requests made would show by then). Nothing logged a
	// server error.
	if res, _ := c.command(http.MethodPost, "/todos", `{"title":"after"}`); res.StatusCode != 200 {
		t.Fatalf("add after = %d", res.StatusCode)
	}
	c.waitTodos("keep me", "after")
	if strings.Contains(a.logs.String(), "status=500") {
		t.Errorf("a request answered 500:\n%s", a.logs.String())
	}
}

func TestTodoCommandsAreIdempotentAndConcurrentWritesAllLand(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	c := newClient(t, a.URL)

	// The same command twice (a retry, a double click): stored once.
	for range 3 {
		if res, _ := c.command(http.MethodPost, "/todos", `{"title":"once"}`, "Idempotency-Key", "same-key-1"); res.StatusCode != 200 {
			t.Fatalf("add = %d", res.StatusCode)
		}
	}
	c.waitTodos("once")

	// Twenty adds at the same instant on one list: all land.
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if res, body := c.command(http.MethodPost, "/todos", fmt.Sprintf(`{"title":"t%02d"}`, i)); res.StatusCode != 200 {
				t.Errorf("concurrent add %d = %d %s", i, res.StatusCode, body)
			}
		}()
	}
	close(start)
	wg.Wait()
	waitFor(t, 10*time.Second, "21 todos", func() bool { return len(c.todos()) == 21 })
	seen := map[string]bool{}
	for _, text := range c.todos() {
		if seen[text] {
			t.Errorf("%q stored twice", text)
		}
		seen[text] = true
	}
}

func TestTodoSessionsAreServerSideAndNotAdopted(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	alice := newClient(t, a.URL)
	alice.command(http.MethodPost, "/todos", `{"title":"alice's"}`)
	alice.waitTodos("alice's")

	u := mustURL(t, a.URL)
	cookies := alice.http.Jar.Cookies(u)
	if len(cookies) != 1 || len(cookies[0].Value) < 43 {
		t.Fatalf("session cookies = %v; want one random ID of 256 bits", cookies)
	}

	// A client presenting an ID the server never issued gets a new session.
	mallory := newClient(t, a.URL)
	forged := strings.Repeat("A", 43)
	mallory.http.Jar.SetCookies(u, []*http.Cookie{{Name: "ironstar_session", Value: forged}})
	if got := mallory.todos(); len(got) != 0 {
		t.Errorf("a forged session sees %q", got)
	}
	for _, c := range mallory.http.Jar.Cookies(u) {
		if c.Value == forged {
			t.Error("the forged session ID was adopted")
		}
	}
	// And Bob, a new visitor, sees nothing of Alice's.
	if got := newClient(t, a.URL).todos(); len(got) != 0 {
		t.Errorf("a new session sees %q", got)
	}
	// Alice's cookie works on a restarted server (sessions live in NATS).
	if err := a.terminate(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	b := startApp(t, appOptions{port: a.Port, dataDir: a.DataDir})
	alice.base = b.URL
	alice.waitTodos("alice's")
}

func TestTodoStreamResumesWithTheWholeState(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	c := newClient(t, a.URL)
	c.command(http.MethodPost, "/todos", `{"title":"one"}`)
	c.command(http.MethodPost, "/todos", `{"title":"two"}`)
	c.waitTodos("one", "two")
	// A reconnect that says it saw an old event gets one frame: the
	// current state, with the newest sequence as its id.
	first := frameID(openStream(t, c, c.base+"/todos/updates", "").next(t))
	again := frameID(openStream(t, c, c.base+"/todos/updates", "1").next(t))
	if first == "" || first != again || first == "1" {
		t.Errorf("frames %v then %v: want the same, newest id both times", first, again)
	}
}

// keepAddingTodos adds todos titled prefix-0, prefix-1, … as the page's
// form does, one at a time, until stop is closed or the app is gone (a
// request fails: it was killed), telling acked each title the app
// acknowledged.
func (c *client) keepAddingTodos(prefix string, stop <-chan struct{}, acked func(title string)) {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		title := fmt.Sprintf("%s-%d", prefix, n)
		req, _ := http.NewRequest(http.MethodPost, c.base+"/todos", strings.NewReader(`{"title":"`+title+`"}`))
		req.Header.Set("Datastar-Request", "true")
		req.Header.Set("Content-Type", "application/json")
		res, err := c.http.Do(req)
		if err != nil {
			return // the app is gone
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			acked(title)
		}
	}
}
