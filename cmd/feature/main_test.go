package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAGeneratedFeatureBuildsAndPassesItsTests writes a feature into a copy
// of the repository (its tracked files) and builds, vets and tests it there
// as a user would: templ generate, go build ./..., go vet and go test of the
// new slice. The browser side is covered by the every-page test, which
// visits any page in the feature list.
func TestAGeneratedFeatureBuildsAndPassesItsTests(t *testing.T) {
	repo := copyRepo(t)
	if err := generate(repo, "notes"); err != nil {
		t.Fatal(err)
	}
	list, err := os.ReadFile(filepath.Join(repo, "features", "features.go"))
	if err != nil || !strings.Contains(string(list), "notes.Feature(),") || !strings.Contains(string(list), `"ironstar/features/notes"`) {
		t.Fatalf("features.go does not list the new feature (%v):\n%s", err, list)
	}
	for _, args := range [][]string{
		{"tool", "templ", "generate"},
		{"build", "./..."},
		{"vet", "./features/notes/...", "./features/"},
		{"test", "-count=1", "./features/notes/..."},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if err := generate(repo, "notes"); err == nil {
		t.Error("generating a feature that exists succeeded")
	}
	if err := generate(repo, "Bad-Name"); err == nil {
		t.Error("a name that is no package name was accepted")
	}
}

// copyRepo copies the repository's tracked files into a temporary
// directory.
func copyRepo(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", root, "ls-files").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, name := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			continue // deleted in the working tree
		}
		target := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
