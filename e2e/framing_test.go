package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ironstar/internal/sseparse"
)

// injections are texts that would end an SSE data line early if a frame
// writer split lines on LF alone: a browser also ends a line at CR LF and
// at a lone CR (issue 13's report: a todo titled with the first one became
// a datastar-patch-signals event, which Datastar evaluates).
var injections = []string{
	"x\revent: datastar-patch-signals\rdata: signals {injected: 1}\r\rafter",
	"x\r\nevent: datastar-patch-signals\r\ndata: signals {injected: 1}\r\n\r\nafter",
	"lone\rcarriage return",
	"nul\x00byte",
	"line\u2028and\u2029paragraph separators",
}

// TestUserTextCannotAddStreamEvents stores todos titled with each
// injection, then reads the list's stream as a browser parses it: one
// event, a patch of elements, holding every title (its line breaks read as
// LF, as HTML reads them). TestGreetingCannotAddStreamEvents holds the
// greeting to the same.
//
//ironstar:needs todo
func TestUserTextCannotAddStreamEvents(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	c := newClient(t, a.URL)
	for _, title := range append(injections, "the last todo") {
		body, _ := json.Marshal(map[string]string{"title": title})
		if res, text := c.command(http.MethodPost, "/todos", string(body)); res.StatusCode != http.StatusOK {
			t.Fatalf("add %q: %d %s", title, res.StatusCode, text)
		}
	}
	c.waitTodos(append(stripped(injections), "the last todo")...)

	stream := readStream(t, c, a.URL+"/todos/updates", "the last todo")
	events, _ := sseparse.Parse(stream)
	if len(events) != 1 || events[0].Type != "datastar-patch-elements" {
		t.Fatalf("the list's stream parses as %d events %q, want one datastar-patch-elements:\n%q", len(events), types(events), stream)
	}
	html := elements(events[0].Data)
	for _, title := range injections {
		if want := asHTMLReadsIt(title); !strings.Contains(html, want) {
			t.Errorf("the patch lacks the title %q (as %q)", title, want)
		}
	}
}

// TestGreetingCannotAddStreamEvents: the greeting, the other place a
// visitor's text is sent back in a stream, answers a name holding an
// injection with one event, a patch of elements.
func TestGreetingCannotAddStreamEvents(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	c := newClient(t, a.URL)
	// A name is at most 40 characters: shorter injections.
	for _, name := range []string{"x\revent: injected\rdata: x\r\r", "x\r\nevent: injected\r\ndata: x\r\n\r\n", "lone\rCR", "nul\x00"} {
		signals, _ := json.Marshal(map[string]string{"name": name})
		res, body := c.command(http.MethodGet, "/about/greeting?datastar="+url.QueryEscape(string(signals)), "")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("greeting %q: %d %s", name, res.StatusCode, body)
		}
		if events, _ := sseparse.Parse([]byte(body)); len(events) != 1 || events[0].Type != "datastar-patch-elements" {
			t.Errorf("greeting %q parses as %d events %q, want one datastar-patch-elements:\n%q", name, len(events), types(events), body)
		}
	}
}

// readStream reads an SSE stream until a whole event holding text has
// arrived, and returns the bytes read.
func readStream(t *testing.T, c *client, streamURL, text string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, streamURL, nil)
	req.Header.Set("Datastar-Request", "true")
	res, err := (&http.Client{Jar: c.http.Jar}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got bytes.Buffer
	buf := make([]byte, 32<<10)
	for {
		if i := bytes.Index(got.Bytes(), []byte(text)); i >= 0 && bytes.Contains(got.Bytes()[i:], []byte("\n\n")) {
			return got.Bytes()
		}
		n, err := res.Body.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF || ctx.Err() != nil {
			t.Fatalf("the stream ended without %q: %v\n%q", text, err, got.Bytes())
		}
	}
}

// elements is a patch's HTML as Datastar reads it from the event's data:
// each line's text after "elements ", joined with LF.
func elements(data string) string {
	var lines []string
	for line := range strings.SplitSeq(data, "\n") {
		if html, ok := strings.CutPrefix(line, "elements "); ok {
			lines = append(lines, html)
		}
	}
	return strings.Join(lines, "\n")
}

// asHTMLReadsIt is text as the browser's HTML parser reads it: CR LF and
// lone CR as LF.
func asHTMLReadsIt(text string) string {
	return strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
}

// stripped are the titles as stored: trimmed, as the domain trims them.
func stripped(titles []string) []string {
	out := make([]string, len(titles))
	for i, title := range titles {
		out[i] = strings.TrimSpace(title)
	}
	return out
}

func types(events []sseparse.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Type)
	}
	return out
}
