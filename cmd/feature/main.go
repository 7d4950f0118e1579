// Command feature writes a new feature slice in the house style: a domain
// with a decider and given/when/then tests, a read model, a page with its
// signals, a live stream, one command and a navigation entry, and adds it
// to the feature list (features/features.go). It compiles and passes its
// tests as written; make it yours from there.
//
//	go tool task feature -- notes
package main

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

//go:embed slice
var slice embed.FS

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./cmd/feature NAME (lower-case letters, e.g. notes)")
		os.Exit(2)
	}
	if err := generate(".", os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "feature:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote features/%s and added it to features/features.go; run go tool task test (or go tool task live) to see it\n", os.Args[1])
}

// validName is a Go package name that is also a path, a KV bucket and an
// event type prefix.
var validName = regexp.MustCompile(`^[a-z][a-z0-9]{1,30}$`)

// slot is the data the templates fill in.
type slot struct {
	Name  string // the package, e.g. notes
	Title string // shown, e.g. Notes
	Path  string // the page's path, e.g. /notes
}

// generate writes the slice called name under root (the repository) and
// adds it to the feature list.
func generate(root, name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("%q is not a feature name: lower-case letters and digits, starting with a letter, 2–31 long", name)
	}
	dir := filepath.Join(root, "features", name)
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s exists already", dir)
	}
	data := slot{Name: name, Title: strings.ToUpper(name[:1]) + name[1:], Path: "/" + name}
	err := fs.WalkDir(slice, "slice", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		out := filepath.Join(dir, strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(path, "slice/"), ".tmpl"), "NAME", name))
		out = strings.Replace(out, "page.templ", name+".templ", 1)
		text, err := fs.ReadFile(slice, path)
		if err != nil {
			return err
		}
		tmpl, err := template.New(path).Delims("[[", "]]").Parse(string(text))
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, data); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, b.Bytes(), 0o644)
	})
	if err != nil {
		return err
	}
	return addToList(filepath.Join(root, "features", "features.go"), name)
}

// addToList imports the new feature in the feature list and appends it to
// All, at the end of the navigation.
func addToList(path, name string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(src)
	imp := `	"ironstar/features/feature"`
	end := "\n\t}\n}"
	if !strings.Contains(s, imp) || !strings.Contains(s, end) {
		return errors.New(path + " is not laid out as the generator expects: add the feature to All yourself")
	}
	s = strings.Replace(s, imp, imp+"\n\t\"ironstar/features/"+name+"\"", 1)
	i := strings.LastIndex(s, end)
	s = s[:i] + "\n\t\t" + name + ".Feature()," + s[i:]
	out, err := format.Source([]byte(s))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}
