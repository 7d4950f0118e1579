package history

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"ironstar/es"
	"ironstar/es/memstore"
	"ironstar/features/feature"
)

// A tally: the smallest aggregate with a history, for the fold-at-N tests.
type (
	tallyEvent interface{ isTallyEvent() }
	added      struct {
		N int `json:"n"`
	}
	zeroed struct{}
)

func (added) isTallyEvent()  {}
func (zeroed) isTallyEvent() {}

func tallyDecider() es.Decider[int, struct{}, tallyEvent] {
	return es.Decider[int, struct{}, tallyEvent]{
		Evolve: func(total int, e tallyEvent) int {
			switch e := e.(type) {
			case added:
				return total + e.N
			case zeroed:
				return 0
			}
			return total
		},
	}
}

func tallyRegistry() *es.Registry {
	reg := es.NewRegistry()
	es.Register[added](reg, "tally.added", 1)
	es.Register[zeroed](reg, "tally.zeroed", 1)
	return reg
}

var tally = es.StreamID{Aggregate: "tally", ID: "t1"}

// envelope is an event of the tally stored at seq.
func envelope(t *testing.T, reg *es.Registry, seq uint64, e tallyEvent) es.Envelope {
	t.Helper()
	name, v, data, err := reg.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return es.Envelope{Stream: tally, Type: name, Version: v, Data: data, Sequence: seq}
}

// tallyHistory is the tally's events at sequences 3, 7, 8 and 12 (other
// aggregates' events fill the gaps): +5, +2, zeroed, +4.
func tallyHistory(t *testing.T, render func(before, after int, changed tallyEvent) templ.Component) timeline {
	reg := tallyRegistry()
	return timeline{
		stream: tally,
		events: []es.Envelope{
			envelope(t, reg, 3, added{N: 5}),
			envelope(t, reg, 7, added{N: 2}),
			envelope(t, reg, 8, zeroed{}),
			envelope(t, reg, 12, added{N: 4}),
		},
		hist: feature.HistoryOf("tally", tallyDecider(), render),
	}
}

func TestHistoryFoldsUpToTheSequenceAsked(t *testing.T) {
	t.Parallel()
	tl := tallyHistory(t, nil)
	for _, tc := range []struct {
		name    string
		at      uint64
		state   int
		pos     int
		wantErr error
	}{
		{"at its first event, only that event", 3, 5, 1, nil},
		{"at its second event, both", 7, 7, 2, nil},
		{"at the event that zeroed it, zero", 8, 0, 3, nil},
		{"at its last event, all of them", 12, 4, 4, nil},
		{"between two of its events, up to the earlier", 10, 0, 3, nil},
		{"past its last event, all of them", 1 << 40, 4, 4, nil},
		{"before its first event, nothing to show", 2, 0, 0, errBeforeFirst},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			point, pos, err := tl.foldAt(tallyRegistry(), tc.at)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("foldAt(%d): err %v, want %v", tc.at, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if point.State != tc.state || pos != tc.pos {
				t.Errorf("foldAt(%d) = state %v at position %d, want %d at %d", tc.at, point.State, pos, tc.state, tc.pos)
			}
			if point.View != nil {
				t.Error("a history without a renderer has a view")
			}
		})
	}
}

func TestHistoryRendererSeesTheStateBeforeAndAfterTheEvent(t *testing.T) {
	t.Parallel()
	var got []string
	tl := tallyHistory(t, func(before, after int, changed tallyEvent) templ.Component {
		got = append(got, fmt.Sprint(before, " ", after, " ", typeName(changed)))
		return templ.NopComponent
	})
	for pos := 1; pos <= 4; pos++ {
		point, err := tl.at(tallyRegistry(), pos)
		if err != nil || point.View == nil {
			t.Fatalf("at(%d): view %v, err %v", pos, point.View, err)
		}
	}
	want := []string{"0 5 added", "5 7 added", "7 0 zeroed", "0 4 added"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("the renderer saw %q, want %q", got, want)
	}
	for _, pos := range []int{0, 5} {
		if _, err := tl.at(tallyRegistry(), pos); !errors.Is(err, errBadPosition) {
			t.Errorf("at(%d): err %v, want errBadPosition", pos, err)
		}
	}
}

func TestHistoryOfAnUndecodableEventFails(t *testing.T) {
	t.Parallel()
	tl := tallyHistory(t, nil)
	tl.events[1].Type = "tally.retired"
	if _, err := tl.at(tallyRegistry(), 1); err != nil {
		t.Errorf("the events before it fold: %v", err)
	}
	if _, err := tl.at(tallyRegistry(), 2); !errors.Is(err, es.ErrUndecodable) {
		t.Errorf("folding past it: err %v, want es.ErrUndecodable", err)
	}
}

func TestHistoryListsAWindowAroundTheSelectedEvent(t *testing.T) {
	t.Parallel()
	reg := tallyRegistry()
	tl := timeline{stream: tally, hist: feature.HistoryOf("tally", tallyDecider(), nil)}
	for seq := uint64(1); seq <= 100; seq++ {
		tl.events = append(tl.events, envelope(t, reg, seq, added{N: 1}))
	}
	h := &handlers{registry: reg}
	for _, tc := range []struct{ pos, first, last int }{{1, 1, 25}, {50, 38, 62}, {100, 76, 100}} {
		vm, err := h.viewModel(tl, tc.pos)
		if err != nil {
			t.Fatal(err)
		}
		first, last := vm.Events[0].Pos, vm.Events[len(vm.Events)-1].Pos
		if first != tc.first || last != tc.last || vm.Earlier != tc.first-1 || vm.Later != 100-tc.last {
			t.Errorf("at %d: listed %d..%d (%d earlier, %d later), want %d..%d", tc.pos, first, last, vm.Earlier, vm.Later, tc.first, tc.last)
		}
	}
}

func TestHistoryAnswersWhatItCannotShow(t *testing.T) {
	t.Parallel()
	reg := tallyRegistry()
	store := memstore.New()
	stored := tallyHistory(t, nil).events
	for i := range stored {
		stored[i].ID = "e" + strconv.Itoa(i)
	}
	if _, err := store.Append(context.Background(), tally, 0, stored); err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	routes(r, Deps{Logger: slog.New(slog.DiscardHandler), Events: store, Registry: reg,
		Histories: []feature.History{feature.HistoryOf("tally", tallyDecider(), nil)}})
	for _, tc := range []struct {
		path   string
		status int
		says   string
	}{
		// The store numbers the events 1 to 4.
		{"/history/tally/t1", http.StatusOK, `<div id="history-point" data-pos="4" data-seq="4">`},
		{"/history/tally/t1?at=1", http.StatusOK, `id="history-state-json">5`},
		{"/history/tally/t1?at=0", http.StatusNotFound, "before the aggregate&#39;s first event"},
		{"/history/tally/t1?at=soon", http.StatusBadRequest, "not a stream sequence"},
		{"/history/tally/nobody", http.StatusNotFound, "has no events: tally/nobody"},
		{"/history/ledger/t1", http.StatusNotFound, "No feature draws this aggregate type: &#34;ledger&#34; (the types with a history: tally)"},
		{"/history/tally/t%2A1", http.StatusBadRequest, "not an aggregate type and ID"},
		{"/history/tally/t1/point?pos=9", http.StatusBadRequest, "Not a position"},
	} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != tc.status || !strings.Contains(string(body), tc.says) {
			t.Errorf("GET %s: %d, want %d saying %q:\n%s", tc.path, rec.Code, tc.status, tc.says, body)
		}
	}

	// The slider's fetch: the fragment, and the signals that move the
	// slider and the URL.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/history/tally/t1/point?pos=2", nil)
	req.Header.Set("Datastar-Request", "true")
	r.ServeHTTP(rec, req)
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, `id="history-state-json">7`) || !strings.Contains(body, `signals {"historyPos":2,"historyAt":2}`) {
		t.Errorf("the fetch of position 2 answered %d:\n%s", rec.Code, body)
	}
}

func typeName(e tallyEvent) string {
	switch e.(type) {
	case added:
		return "added"
	case zeroed:
		return "zeroed"
	}
	return "?"
}

// foldAt is the aggregate after its events up to sequence n, and the
// position of the last of them: the page's two steps (positionAt, at) in
// one, as a request for ?at=n takes them.
func (t timeline) foldAt(reg *es.Registry, n uint64) (feature.Point, int, error) {
	pos, err := t.positionAt(n)
	if err != nil {
		return feature.Point{}, 0, err
	}
	p, err := t.at(reg, pos)
	return p, pos, err
}
