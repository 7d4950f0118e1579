package eventlog

import (
	"bytes"
	"net/url"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"ironstar/es"
	common "ironstar/features/common/components"
	"ironstar/features/eventlog/components"
)

// A payload longer than foldAt bytes, or of more than foldLines lines once
// indented, is folded under a one-line summary of summaryLen bytes; one
// longer than shownBytes is cut there (the row says how much is left out),
// which bounds a row, and so a frame, whatever an event holds.
const (
	foldAt     = 200
	foldLines  = 8
	summaryLen = 100
	shownBytes = 16 << 10
)

// row is an event as the log shows it.
func row(e es.Envelope) components.RowVM {
	r := components.RowVM{
		Seq:        e.Sequence,
		Type:       e.Type,
		Version:    e.Version,
		Aggregate:  e.Stream.String(),
		HistoryURL: "/history/" + url.PathEscape(e.Stream.Aggregate) + "/" + url.PathEscape(e.Stream.ID) + "?at=" + strconv.FormatUint(e.Sequence, 10),
		FilterURL:  "/events?" + Filter{Aggregate: e.Stream.Aggregate, ID: e.Stream.ID}.Query(),
		Session:    e.Meta.Session,
		Command:    e.Meta.CommandID,
		Correlated: e.Meta.CorrelationID,
	}
	if !e.Meta.OccurredAt.IsZero() {
		at := e.Meta.OccurredAt.UTC()
		r.Time, r.TimeISO = at.Format("2006-01-02 15:04:05.000"), at.Format(time.RFC3339Nano)
	}
	pretty := common.IndentJSON(e.Data)
	if len(pretty) > shownBytes {
		r.Cut = len(pretty) - shownBytes
		pretty = pretty[:shownBytes]
	}
	r.Payload = string(bytes.ToValidUTF8(pretty, []byte("�")))
	if len(e.Data) > foldAt || bytes.Count(pretty, []byte{'\n'}) >= foldLines {
		compact := e.Data[:min(len(e.Data), summaryLen)]
		r.Summary = string(bytes.ToValidUTF8(compact, nil))
		if len(compact) < len(e.Data) {
			r.Summary += "…"
		}
	}
	return r
}

// rows are the events as rows, in their order.
func rows(events []es.Envelope) []components.RowVM {
	out := make([]components.RowVM, len(events))
	for i, e := range events {
		out[i] = row(e)
	}
	return out
}

// pageBody is a page of the log as rows of the list, ending in what lies
// below them: the start of the log, or a stretch scanned without a match
// (up to before, where the page began, or its oldest event).
func pageBody(p page, before uint64) templ.Component {
	end := before
	if n := len(p.Events); n > 0 {
		end = p.Events[n-1].Sequence
	}
	return templ.Join(components.Rows(rows(p.Events)), marker(p.Next, end))
}

func marker(next, end uint64) templ.Component {
	switch {
	case next == 0:
		return components.LogStart()
	case next < end:
		return components.ScanGap(next, end)
	}
	return templ.NopComponent
}
