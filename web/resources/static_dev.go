//go:build dev

package resources

import (
	"net/http"
	"os"
	"path/filepath"
)

// dir is relative to the repository root, where air runs the dev build.
const dir = "web/resources/static"

// Handler serves the files from disk with caching turned off.
func Handler() http.Handler {
	files := http.StripPrefix(Prefix, http.FileServerFS(os.DirFS(dir)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		files.ServeHTTP(w, r)
	})
}

// ReadFile returns the content of the static file name, from disk.
func ReadFile(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
}

// URL is the address of the static file name (a path below static/).
func URL(name string) string { return Prefix + name }
