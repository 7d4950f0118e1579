//ironstar:needs template

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestEveryVariantBuildsAndVets makes an app with each choice of examples
// and builds and vets it where it was written: the module and product are
// renamed everywhere but in LICENSE, only the chosen examples are left, no
// directive remains, and the git history is one commit. (CI also runs the
// whole test suite of one variant.)
func TestEveryVariantBuildsAndVets(t *testing.T) {
	ctx := t.Context()
	root, err := repositoryRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		examples string
		want     []string // feature folders
		git      bool
	}{
		{"all", nil, false}, // nil: as many as the template has
		{"todo", []string{"about", "common", "eventlog", "feature", "health", "history", "projections", "todo"}, false},
		{"none", []string{"about", "common", "eventlog", "feature", "health", "history", "projections"}, true},
	} {
		t.Run(tc.examples, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "shop")
			o := options{Module: "example.com/acme/shop", Name: "Shop", Dir: dir, Examples: tc.examples, Git: tc.git}
			if err := create(ctx, root, o, func(string) {}); err != nil {
				t.Fatal(err)
			}
			got := folders(t, filepath.Join(dir, "features"))
			want := tc.want
			if want == nil {
				want = folders(t, filepath.Join(root, "features"))
			}
			if !slices.Equal(got, want) {
				t.Errorf("features/ holds %v, want %v", got, want)
			}
			checkRenamed(t, dir)
			run(t, dir, "go", "build", "./...")
			run(t, dir, "go", "vet", "-tags", "cluster", "./...")
			if tc.git {
				if log := run(t, dir, "git", "log", "--format=%s"); log != "Start Shop from the Ironstar template\n" {
					t.Errorf("git log = %q, want one commit", log)
				}
				if status := run(t, dir, "git", "status", "--porcelain"); status != "" {
					t.Errorf("the first commit left files out:\n%s", status)
				}
			}
		})
	}
}

// checkRenamed fails for any file but LICENSE that still names the
// template, and for any directive left behind.
func checkRenamed(t *testing.T, dir string) {
	t.Helper()
	if mod, _ := os.ReadFile(filepath.Join(dir, "go.mod")); !strings.HasPrefix(string(mod), "module example.com/acme/shop\n") {
		t.Errorf("go.mod starts %q", strings.SplitN(string(mod), "\n", 2)[0])
	}
	template := regexp.MustCompile(`(?i)ironstar`)
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		if rel == "LICENSE" {
			return nil
		}
		data, err := os.ReadFile(path)
		if loc := template.FindIndex(data); loc != nil {
			t.Errorf("%s still names the template: %q", rel, lineAround(data, loc[0]))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// lineAround is the line around offset i.
func lineAround(data []byte, i int) string {
	start := max(0, strings.LastIndexByte(string(data[:i]), '\n')+1)
	end := strings.IndexByte(string(data[i:]), '\n')
	if end < 0 {
		return string(data[start:])
	}
	return string(data[start : i+end])
}

// folders lists the folders in dir.
func folders(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// run runs a command in dir and returns its output, failing the test if
// it fails.
func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), args[0], args[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
