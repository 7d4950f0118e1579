//ironstar:needs template

package main

import (
	"path"
	"strings"

	"ironstar/internal/doccheck"
)

// uncite turns the docs' citations of what the app left out (a path, a
// link, a test, a task of a left-out example) into plain text, so that
// the docs test, which checks every citation, holds in the new app while
// the docs keep their explanations.
func uncite(t tree) {
	tests := map[string]bool{}
	for name, f := range t {
		if strings.HasSuffix(name, "_test.go") {
			for _, test := range doccheck.TestsDeclared(string(f.data)) {
				tests[test] = true
			}
		}
	}
	tasks := doccheck.Tasks(string(t["Taskfile.yml"].data))
	gitignore := string(t[".gitignore"].data)
	for name, f := range t {
		if path.Ext(name) != ".md" {
			continue
		}
		missing := func(c doccheck.Citation) bool {
			switch c.Kind {
			case doccheck.Link:
				target, _, _ := strings.Cut(c.Target, "#")
				return !t.exists(path.Join(path.Dir(name), target))
			case doccheck.Path:
				return !t.exists(c.Target) && !doccheck.BuildOutput(gitignore, c.Target)
			case doccheck.Test:
				return !tests[c.Target]
			case doccheck.Task:
				return !tasks[c.Target]
			}
			return false
		}
		f.data = []byte(doccheck.Uncite(string(f.data), missing))
		t[name] = f
	}
}
