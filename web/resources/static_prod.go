//go:build !dev

package resources

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
)

//go:embed static
var embedded embed.FS

// hashedFiles maps both ways between logical and content-hashed names. It is
// derived from the embedded files once, on first use, and never changes.
var hashedFiles = sync.OnceValue(func() *catalog {
	static, err := fs.Sub(embedded, "static")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory
	}
	c := &catalog{files: static, hashed: map[string]string{}, logical: map[string]asset{}}
	err = fs.WalkDir(static, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if path.Ext(name) == ".map" {
			return nil // left over from a dev build: never served
		}
		data, err := fs.ReadFile(static, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		hash := hex.EncodeToString(sum[:8])
		ext := path.Ext(name)
		hashedName := strings.TrimSuffix(name, ext) + "." + hash + ext
		c.hashed[name] = hashedName
		c.logical[hashedName] = asset{name: name, etag: `"` + hash + `"`}
		return nil
	})
	if err != nil {
		panic(err) // reading an embed.FS cannot fail
	}
	return c
})

type asset struct{ name, etag string }

type catalog struct {
	files   fs.FS
	hashed  map[string]string // logical name → hashed name
	logical map[string]asset  // hashed name → logical name and ETag
}

// Handler serves the embedded files. Hashed names are cached for a year;
// logical names still work (for files referenced from inside a bundle) but
// must be revalidated. Directories and source maps are not served.
func Handler() http.Handler {
	c := hashedFiles()
	files := onlyFiles(c.files, http.FileServerFS(c.files))
	return http.StripPrefix(Prefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if path.Ext(r.URL.Path) == ".map" {
			http.NotFound(w, r)
			return
		}
		if a, ok := c.logical[r.URL.Path]; ok {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			w.Header().Set("ETag", a.etag)
			r.URL.Path = a.name
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	}))
}

// ReadFile returns the content of the static file name.
func ReadFile(name string) ([]byte, error) {
	return fs.ReadFile(hashedFiles().files, name)
}

// Version identifies the static files; embedded, they never change.
func Version() string { return "" }

// URL is the content-hashed address of the static file name (a path below
// static/), or its plain address if no such file was embedded.
func URL(name string) string {
	if hashed, ok := hashedFiles().hashed[name]; ok {
		return Prefix + hashed
	}
	return Prefix + name
}
