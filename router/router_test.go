package router

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"ironstar/clientip"
	"ironstar/features/common/layouts"
	"ironstar/operator"
)

// TestHomeIsTheFirstPageWhenNoFeatureServesIt: an app whose features do
// not serve / (one without the TodoMVC example) sends it to the first page
// of its navigation; an app whose feature serves / is left alone.
func TestHomeIsTheFirstPageWhenNoFeatureServesIt(t *testing.T) {
	t.Parallel()
	page := func(path string) Mounted {
		return Mounted{Name: path, Routes: func(r chi.Router) {
			r.Get(path, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(path)) })
		}}
	}
	for _, tc := range []struct {
		name       string
		nav        []layouts.NavLink
		features   []Mounted
		wantStatus int
		wantTo     string
	}{
		{"no feature serves /", []layouts.NavLink{{Href: "/about"}, {Href: "/notes"}}, []Mounted{page("/about"), page("/notes")}, http.StatusSeeOther, "/about"},
		{"a feature serves /", []layouts.NavLink{{Href: "/"}, {Href: "/about"}}, []Mounted{page("/"), page("/about")}, http.StatusOK, ""},
		{"no pages", nil, nil, http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(Deps{Logger: slog.New(slog.DiscardHandler), Lifetime: context.Background(), Clients: clientip.New(nil), Nav: tc.nav, Features: tc.features})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if rec.Code != tc.wantStatus || rec.Header().Get("Location") != tc.wantTo {
				t.Errorf("GET / = %d to %q, want %d to %q", rec.Code, rec.Header().Get("Location"), tc.wantStatus, tc.wantTo)
			}
		})
	}
}

func TestOperatorFeaturesSitBehindTheGateOrAreLeftOut(t *testing.T) {
	t.Parallel()
	events := Mounted{Name: "events", Operator: true, Routes: func(r chi.Router) {
		r.Get("/events", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("log")) })
	}}
	token := "a-token-long-enough-for-the-tests"
	for _, tc := range []struct {
		name        string
		gate        *operator.Gate
		bearer      string
		want        int
		wantMounted bool
	}{
		{"a production build without a token", nil, token, 404, false},
		{"a dev build without a token", operator.NewGate("", true, clientip.New(nil)), "", 200, true},
		{"a token, and no credentials", operator.NewGate(token, false, clientip.New(nil)), "", 404, true},
		{"a token, and the bearer", operator.NewGate(token, false, clientip.New(nil)), token, 200, true},
	} {
		h := New(Deps{Logger: slog.New(slog.DiscardHandler), Lifetime: context.Background(), Clients: clientip.New(nil), Operator: tc.gate, Features: []Mounted{events}})
		req := httptest.NewRequest(http.MethodGet, "/events", nil)
		if tc.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+tc.bearer)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: GET /events = %d, want %d", tc.name, rec.Code, tc.want)
		}
		if mounted := h.(chi.Routes).Match(chi.NewRouteContext(), http.MethodGet, "/events"); mounted != tc.wantMounted {
			t.Errorf("%s: /events mounted = %v, want %v", tc.name, mounted, tc.wantMounted)
		}
	}
}
