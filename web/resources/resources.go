// Package resources serves the static files under web/resources/static: the
// committed ones (favicon) and those cmd/build generates into static/dist
// (the Datastar client, bundled TypeScript and CSS).
//
// Production builds embed the files and serve each under a content-hashed
// name with an immutable cache header; dev builds (-tags dev) read them from
// disk on every request with no-store, so a rebuild shows at once. Views ask
// URL for the address of a file and never spell it out.
package resources

import (
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// Prefix is the path the static handler is mounted under.
const Prefix = "/static/"

// onlyFiles answers 404 for a directory of fsys instead of the listing
// http.FileServer would give: the tree's layout is nobody's business. It
// runs behind http.StripPrefix, so the path names a file of fsys.
func onlyFiles(fsys fs.FS, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.Trim(path.Clean("/"+r.URL.Path), "/")
		if name == "" {
			name = "."
		}
		if info, err := fs.Stat(fsys, name); err == nil && info.IsDir() {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// built are files cmd/build writes that every page links.
var built = []string{"dist/datastar.js", "dist/app.js", "dist/app.css"}

// Built reports whether cmd/build has written the front end: a binary built
// from a fresh clone with `go build` has no bundles to serve, and its pages
// would load without Datastar.
func Built() error {
	for _, name := range built {
		if _, err := ReadFile(name); err != nil {
			return fmt.Errorf("%s is missing: the front end is not built (run go tool task build:assets, or go tool task run)", name)
		}
	}
	return nil
}
