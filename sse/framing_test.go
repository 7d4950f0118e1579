package sse

import (
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ironstar/internal/sseparse"
)

// hostile are payloads that try to end a data line early: with a field of
// their own, a whole event, or an early end of the event.
var hostile = []string{
	"x\revent: datastar-patch-signals\rdata: signals {injected: 1}\r\r",
	"x\r\nevent: datastar-patch-signals\r\ndata: signals {injected: 1}\r\n\r\n",
	"x\nevent: datastar-patch-signals\ndata: signals {injected: 1}\n\n",
	"lone\rcarriage return",
	"ends with\r",
	"\r\r\r",
	"nul\x00byte",
	"line\u2028and\u2029paragraph separators",
	"id: 99\rretry: 1",
	"",
}

// TestEventFramingHoldsAgainstLineBreaksInText parses each frame as a
// browser would: one event, of the frame's type and id, whose data is the
// payload, whatever line breaks the payload holds.
func TestEventFramingHoldsAgainstLineBreaksInText(t *testing.T) {
	t.Parallel()
	for _, payload := range hostile {
		checkRoundTrip(t, []byte(payload))
	}
}

// FuzzEventFraming: no payload adds, splits or renames an event.
func FuzzEventFraming(f *testing.F) {
	for _, payload := range hostile {
		f.Add([]byte(payload))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		checkRoundTrip(t, payload)
	})
}

func checkRoundTrip(t *testing.T, payload []byte) {
	t.Helper()
	for _, c := range []struct {
		frame       Frame
		name, field string
	}{
		{PatchElements(42, payload), "datastar-patch-elements", "elements"},
		{PatchSignals(42, payload), "datastar-patch-signals", "signals"},
	} {
		events, comments := sseparse.Parse(c.frame.Data)
		name, field := c.name, c.field
		if len(events) != 1 || len(comments) != 0 {
			t.Fatalf("%q as %s: %d events, %d comments, want 1 and 0: %q", payload, name, len(events), len(comments), events)
		}
		e := events[0]
		if e.Type != name || e.ID != "42" {
			t.Errorf("%q: event %q id %q, want %q id 42", payload, e.Type, e.ID, name)
		}
		// Datastar takes each data line's text after the field's name and
		// joins them with LF: that is the payload, its line ends read as LF.
		var lines []string
		for line := range strings.SplitSeq(e.Data, "\n") {
			text, ok := strings.CutPrefix(line, field+" ")
			if !ok {
				t.Fatalf("%q: data line %q lacks %q", payload, line, field+" ")
			}
			lines = append(lines, text)
		}
		if got, want := strings.Join(lines, "\n"), asLF(payload); got != want {
			t.Errorf("%q: data %q, want %q", payload, got, want)
		}
	}
}

// TestPatchElementsAtFramesSelectorAndMode: the selector and mode lines
// come first, then the payload as intact as PatchElements carries it; a
// remove carries no elements line.
func TestPatchElementsAtFramesSelectorAndMode(t *testing.T) {
	t.Parallel()
	for _, payload := range hostile {
		events, _ := sseparse.Parse(PatchElementsAt(42, "#rows", "prepend", []byte(payload)).Data)
		if len(events) != 1 || events[0].Type != "datastar-patch-elements" || events[0].ID != "42" {
			t.Fatalf("%q: events %q, want one datastar-patch-elements with id 42", payload, events)
		}
		lines := strings.Split(events[0].Data, "\n")
		if lines[0] != "selector #rows" || lines[1] != "mode prepend" {
			t.Errorf("%q: data lines %q, want the selector and the mode first", payload, lines)
		}
		var text []string
		for _, line := range lines[2:] {
			rest, ok := strings.CutPrefix(line, "elements ")
			if !ok {
				t.Fatalf("%q: data line %q lacks %q", payload, line, "elements ")
			}
			text = append(text, rest)
		}
		if payload != "" && strings.Join(text, "\n") != asLF([]byte(payload)) {
			t.Errorf("%q: elements %q, want %q", payload, strings.Join(text, "\n"), asLF([]byte(payload)))
		}
	}
	events, _ := sseparse.Parse(PatchElementsAt(0, "#rows > tr:nth-child(n+501)", "remove", nil).Data)
	if len(events) != 1 || events[0].ID != "" || events[0].Data != "selector #rows > tr:nth-child(n+501)\nmode remove" {
		t.Errorf("remove = %q, want selector and mode only, no id", events)
	}
}

// asLF is text with CR LF and lone CR read as LF, and a line end at the
// very end dropped (it ends the last line rather than starting another).
func asLF(text []byte) string {
	s := strings.ReplaceAll(string(text), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.TrimSuffix(s, "\n")
}

// TestNoStreamIsWrittenThroughDatastarGo: datastar-go's writer splits data
// lines on LF alone, so every frame the app sends goes through this
// package's (datastar-go still reads signals).
func TestNoStreamIsWrittenThroughDatastarGo(t *testing.T) {
	t.Parallel()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && d.Name() != "..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(src), "datastar.NewSSE(") {
			t.Errorf("%s writes a stream with datastar.NewSSE; use package sse", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAQuietStreamSendsHeartbeats: with nothing to send, a stream sends a
// comment every heartbeat interval; a browser's parser (and Datastar's,
// which follows the same rules) hands none of them on as an event, and a
// frame between them arrives whole.
func TestAQuietStreamSendsHeartbeats(t *testing.T) {
	t.Parallel()
	frames := make(chan Frame, 1)
	srv := httptest.NewServer(WithSettings(Settings{Lifetime: t.Context(), Heartbeat: 20 * time.Millisecond})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := Context(r)
		defer cancel()
		Serve(ctx, w, frames)
	})))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	// The headers Datastar's SDK specification requires (sdk/ADR.md).
	for name, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "Connection": "keep-alive"} {
		if got := res.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}

	var got []byte
	readUntil := func(comments int) ([]sseparse.Event, []string) {
		buf := make([]byte, 4096)
		for {
			events, seen := sseparse.Parse(got)
			if len(seen) >= comments {
				return events, seen
			}
			n, err := res.Body.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				t.Fatalf("after %q: %v", got, err)
			}
		}
	}
	if events, comments := readUntil(2); len(events) != 0 || comments[0] != "heartbeat" {
		t.Fatalf("a quiet stream sent events %q and comments %q, want heartbeats only", events, comments)
	}
	frames <- PatchElements(7, []byte(`<p id="x">hello</p>`))
	events, comments := readUntil(len(heartbeats(got)) + 2)
	if len(events) != 1 || events[0].ID != "7" || events[0].Data != `elements <p id="x">hello</p>` {
		t.Errorf("events %q (comments %q), want the one frame, whole", events, comments)
	}
}

func heartbeats(stream []byte) []string {
	_, comments := sseparse.Parse(stream)
	return comments
}
