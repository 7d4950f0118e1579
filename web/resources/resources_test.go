package resources

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

func TestOnlyFilesRefusesDirectoryListings(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{"dist/app.js": {Data: []byte("app")}, "favicon.svg": {Data: []byte("<svg/>")}}
	h := http.StripPrefix(Prefix, onlyFiles(fsys, http.FileServerFS(fsys)))
	cases := map[string]int{
		"/static/":            http.StatusNotFound,
		"/static/dist/":       http.StatusNotFound,
		"/static/dist":        http.StatusNotFound,
		"/static/./dist/../":  http.StatusNotFound,
		"/static/dist/app.js": http.StatusOK,
		"/static/favicon.svg": http.StatusOK,
		"/static/missing.js":  http.StatusNotFound,
	}
	for path, want := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("GET %s = %d, want %d (body %.60q)", path, rec.Code, want, rec.Body.String())
		}
	}
}
