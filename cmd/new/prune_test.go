//ironstar:needs template

package main

import (
	"strings"
	"testing"
)

// testPruner leaves out counter (and the template), keeps todo.
var testPruner = pruner{
	module:       "ironstar",
	leftOut:      map[string]bool{"counter": true, templateOnly: true},
	packageNames: map[string]string{"ironstar/features/counter": "counter", "ironstar/features/todo": "todo", "github.com/go-chi/chi/v5": "chi"},
}

func TestPruneTextCutsTheParagraphsAndFilesADirectiveCovers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
		gone           bool
	}{
		{"a task of a left-out example", "tasks:\n  a:\n    cmds: [x]\n\n  # ironstar:needs counter\n  b:\n    cmds: [y]\n\n  c:\n    cmds: [z]\n",
			"tasks:\n  a:\n    cmds: [x]\n\n  c:\n    cmds: [z]\n", false},
		{"a kept example's directive goes, not what it covers", "a\n\n# ironstar:needs todo\nb\n", "a\n\nb\n", false},
		{"a Markdown paragraph at the end", "# T\n\ntext\n\n<!-- ironstar:needs template -->\nrun cmd/new\n", "# T\n\ntext\n\n", false},
		{"in the first paragraph, the file", "#!/bin/sh\n# ironstar:needs counter\n\necho\n", "", true},
		{"a mention in a sentence is not a directive", "the ironstar:needs counter directive\n", "the ironstar:needs counter directive\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, keep := testPruner.pruneText(tc.in)
			if keep == tc.gone || string(out) != tc.want {
				t.Errorf("pruneText = %q (kept %v), want %q (kept %v)", out, keep, tc.want, !tc.gone)
			}
		})
	}
}

func TestPruneGoCutsMarkedDeclarationsAndListEntries(t *testing.T) {
	t.Parallel()
	in := `package features

import (
	"ironstar/features/counter"
	"ironstar/features/todo"
	"github.com/go-chi/chi/v5"
)

// All are the features.
func All() []string {
	return []string{
		todo.Name,
		counter.Name,
	}
}

// Entries keeps one.
var Entries = []string{
	"todo",
	// Only counter's page has this.
	//ironstar:needs counter
	"counter",
}

// Mux needs counter.
//ironstar:needs counter
func Mux() *chi.Mux { return chi.NewMux() }

// Kept needs todo.
//ironstar:needs todo
func Kept() {}
`
	want := `package features

import (
	"ironstar/features/todo"
)

// All are the features.
func All() []string {
	return []string{
		todo.Name,
	}
}

// Entries keeps one.
var Entries = []string{
	"todo",
}

// Kept needs todo.
func Kept() {}
`
	out, keep, cut, err := testPruner.pruneGo([]byte(in))
	if err != nil || !keep || !cut {
		t.Fatalf("pruneGo: kept %v, cut %v, %v", keep, cut, err)
	}
	if string(out) != want {
		t.Errorf("pruneGo =\n%s\nwant\n%s", out, want)
	}
}

func TestPruneGoDropsAFileMarkedAboveItsPackageClause(t *testing.T) {
	t.Parallel()
	_, keep, _, err := testPruner.pruneGo([]byte("//ironstar:needs todo counter\n\n// Package e2e tests.\npackage e2e\n"))
	if err != nil || keep {
		t.Errorf("pruneGo kept the file (%v)", err)
	}
}

func TestPruneGoRefusesAnUnmarkedUseOfALeftOutExample(t *testing.T) {
	t.Parallel()
	in := "package x\n\nimport \"ironstar/features/counter\"\n\nfunc f() string { return counter.Name }\n"
	if _, _, _, err := testPruner.pruneGo([]byte(in)); err == nil || !strings.Contains(err.Error(), "mark what needs it") {
		t.Errorf("pruneGo = %v, want an error asking for a directive", err)
	}
}

func TestDropUnusedTakesTheHelpersOfCutTestsAcrossFiles(t *testing.T) {
	t.Parallel()
	tr := tree{
		"e2e/a_test.go": {data: []byte("package e2e\n\nimport \"strings\"\n\n// helper is only for counter's test.\nfunc helper() string { return inner() }\n\nfunc inner() string { return strings.ToUpper(\"x\") }\n\ntype holder struct{}\n\nfunc (holder) open() {}\n\nfunc shared() {}\n")},
		"e2e/b_test.go": {data: []byte("package e2e\n\nimport \"testing\"\n\nfunc TestKept(t *testing.T) { shared() }\n")},
	}
	if err := testPruner.dropUnused(tr, "e2e"); err != nil {
		t.Fatal(err)
	}
	want := "package e2e\n\nfunc shared() {}\n"
	if got := string(tr["e2e/a_test.go"].data); got != want {
		t.Errorf("a_test.go =\n%s\nwant\n%s", got, want)
	}
}

func TestPruneGoDropsAFileLeftWithNothingToDeclare(t *testing.T) {
	t.Parallel()
	in := "package e2e\n\nimport \"testing\"\n\n// TestCounter needs counter.\n//ironstar:needs counter\nfunc TestCounter(t *testing.T) {}\n"
	_, keep, cut, err := testPruner.pruneGo([]byte(in))
	if err != nil || keep || !cut {
		t.Errorf("pruneGo kept %v, cut %v (%v); want the empty file gone", keep, cut, err)
	}
}

func TestDropUnusedImportsSeesThroughALocalOfTheSameName(t *testing.T) {
	t.Parallel()
	in := "package x\n\nimport \"ironstar/nats/leader\"\n\nfunc f() string {\n\tleader := struct{ Name string }{}\n\treturn leader.Name\n}\n"
	out, err := testPruner.dropUnusedImports([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "import") {
		t.Errorf("the import a local shadows stayed:\n%s", out)
	}
}
