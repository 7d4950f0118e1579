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
