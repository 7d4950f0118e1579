//go:build dev

package resources

import (
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// dir is relative to the repository root, where air runs the dev build.
const dir = "web/resources/static"

// Handler serves the files from disk with caching turned off.
func Handler() http.Handler {
	static := os.DirFS(dir)
	files := http.StripPrefix(Prefix, onlyFiles(static, http.FileServerFS(static)))
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

// assetsVersion changes whenever a file under the static directory does.
// One goroutine polls the files' modification times, started on first use
// and kept for the life of the dev process.
var assetsVersion = sync.OnceValue(func() func() string {
	var (
		mu      sync.Mutex
		version string
	)
	scan := func() string {
		var latest time.Time
		var count int
		filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if info, err := d.Info(); err == nil && info.ModTime().After(latest) {
					latest = info.ModTime()
				}
				count++
			}
			return nil
		})
		return fmt.Sprintf("%d/%d", latest.UnixNano(), count)
	}
	version = scan()
	go func() {
		for range time.Tick(200 * time.Millisecond) {
			v := scan()
			mu.Lock()
			version = v
			mu.Unlock()
		}
	}()
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return version
	}
})

// Version identifies the current state of the static files: the dev
// reload stream reloads pages when it changes, without restarting the app.
func Version() string { return assetsVersion()() }
