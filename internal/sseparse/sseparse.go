// Package sseparse reads an event stream as a browser does (the WHATWG
// HTML standard's "Interpreting an event stream"), for tests that check
// what a page would receive, not what the server meant to send.
package sseparse

import (
	"bytes"
	"cmp"
)

// Event is one dispatched event.
type Event struct {
	Type string // "message" when the stream named none
	Data string
	ID   string // the last event ID as it stood at dispatch
}

// Parse returns the events of stream, in order, and the comments it held.
// Lines end at CR LF, LF or a lone CR; an event is dispatched at an empty
// line, and only if it carried data; a stream's unfinished last event is
// dropped, as a browser drops it.
func Parse(stream []byte) (events []Event, comments []string) {
	var data bytes.Buffer
	typ, id := "", ""
	hasData := false
	for len(stream) > 0 {
		i := bytes.IndexAny(stream, "\r\n")
		if i < 0 {
			break // no line end: not a line yet
		}
		line := stream[:i]
		if stream[i] == '\r' && i+1 < len(stream) && stream[i+1] == '\n' {
			i++
		}
		stream = stream[i+1:]

		if len(line) == 0 {
			if hasData {
				events = append(events, Event{Type: cmp.Or(typ, "message"), Data: string(bytes.TrimSuffix(data.Bytes(), []byte{'\n'})), ID: id})
			}
			data.Reset()
			typ, hasData = "", false
			continue
		}
		if line[0] == ':' {
			comments = append(comments, string(bytes.TrimPrefix(line[1:], []byte{' '})))
			continue
		}
		field, value, _ := bytes.Cut(line, []byte{':'})
		value = bytes.TrimPrefix(value, []byte{' '})
		switch string(field) {
		case "event":
			typ = string(value)
		case "data":
			data.Write(value)
			data.WriteByte('\n')
			hasData = true
		case "id":
			if !bytes.ContainsRune(value, 0) {
				id = string(value)
			}
		}
	}
	return events, comments
}
