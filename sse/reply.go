package sse

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"sync"

	"github.com/a-h/templ"
)

// Reply is a short SSE answer to a command (so that Datastar applies it and
// resets its indicators), built once and written whole: one write with its
// length, where an open-ended stream flushes its headers and each event on
// its own (three writes, three system calls, for a command's answer).
type Reply []byte

// NewReply joins frames into one answer.
func NewReply(frames ...Frame) Reply {
	var b bytes.Buffer
	for _, f := range frames {
		b.Write(f.Data)
	}
	return b.Bytes()
}

// Write sends the reply as a complete response.
func (r Reply) Write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(r)))
	w.WriteHeader(http.StatusOK)
	w.Write(r)
}

// MustPatch is Patch for replies built once at start (a cleared alert,
// say): a component that does not render there is a programming error.
func MustPatch(c templ.Component) Frame {
	f, err := Patch(0, c)
	if err != nil {
		panic("sse: a reply's component does not render: " + err.Error())
	}
	return f
}

// Patch renders c into a datastar-patch-elements frame with seq as its id.
// The HTML goes through a pooled buffer and is copied once, into the
// frame: a render that grew its own buffer allocated it several times over.
func Patch(seq uint64, c templ.Component) (Frame, error) {
	html := renderBuffers.Get().(*bytes.Buffer)
	defer func() {
		html.Reset()
		renderBuffers.Put(html)
	}()
	err := c.Render(context.Background(), html)
	return PatchElements(seq, html.Bytes()), err
}

var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
