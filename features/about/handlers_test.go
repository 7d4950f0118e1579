package about

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"ironstar/features/common/layouts"
	"ironstar/web/icons"

	"github.com/go-chi/chi/v5"
)

func TestGreeting(t *testing.T) {
	t.Parallel()
	r := chi.NewRouter()
	routes(r, slog.New(slog.DiscardHandler))
	cases := []struct {
		name     string
		signals  string
		wantCode int
		wantBody string
	}{
		{"a name is greeted over SSE", `{"name":"  Ada "}`, 200, "Hello, <strong>Ada</strong>"},
		{"markup is escaped", `{"name":"<b>x</b>"}`, 200, "&lt;b&gt;x&lt;/b&gt;"},
		{"forty characters are accepted", `{"name":"` + strings.Repeat("é", 40) + `"}`, 200, "datastar-patch-elements"},
		{"forty-one characters are refused", `{"name":"` + strings.Repeat("x", 41) + `"}`, 400, "name too long"},
		{"malformed JSON is refused", `{"name":`, 400, "malformed signals"},
		{"a name of the wrong type is refused", `{"name":7}`, 400, "malformed signals"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/about/greeting?datastar="+url.QueryEscape(tc.signals), nil)
			req.Header.Set("Datastar-Request", "true")
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			if rec.Code != tc.wantCode || !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Errorf("GET with %s = %d %q, want %d containing %q", tc.signals, rec.Code, rec.Body, tc.wantCode, tc.wantBody)
			}
		})
	}
}

func TestPageRenders(t *testing.T) {
	t.Parallel()
	r := chi.NewRouter()
	r.Use(layouts.WithNav([]layouts.NavLink{{Href: "/about", Label: "About", Icon: icons.About}}))
	routes(r, slog.New(slog.DiscardHandler))
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/about", nil))
	body := rec.Body.String()
	for _, want := range []string{`<title>About · Ironstar</title>`, `data-bind:name`, `id="greeting"`, `aria-current="page"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
