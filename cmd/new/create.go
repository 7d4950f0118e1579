//ironstar:needs template

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// options are new's flags.
type options struct {
	Module   string // the new module path
	Name     string // the product name, e.g. Shop
	Dir      string // where the new repository goes
	Examples string // all, none, or a comma-separated list
	Git      bool   // commit the result as a fresh history
}

// validName is one word: it becomes a cookie name, an HTTP header prefix
// and a JavaScript identifier as well as a title.
var validName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,30}$`)

// coreFeatures are the folders under features/ every app keeps: the about
// page (the home page of an app without examples), the health probes, the
// operator pages (event log, time travel, projection operations), the
// parts the pages share and the feature plumbing.
var coreFeatures = []string{"about", "common", "eventlog", "feature", "health", "history", "projections"}

// templateOnly is the pseudo-example no app has: it marks what only the
// template repository needs (this command, the CI step that runs it).
const templateOnly = "template"

// create writes the new repository described by o from the template at
// root, reporting each slow step to progress.
func create(ctx context.Context, root string, o options, progress func(string)) error {
	if err := module.CheckPath(o.Module); err != nil {
		return fmt.Errorf("-module: %w", err)
	}
	if !validName.MatchString(o.Name) {
		return fmt.Errorf("-name %q: one word of letters and digits, starting with a letter", o.Name)
	}
	if err := emptyOrAbsent(o.Dir); err != nil {
		return err
	}
	tree, err := readTracked(ctx, root)
	if err != nil {
		return err
	}
	srcModule, err := modulePath(tree)
	if err != nil {
		return err
	}
	examples := exampleNames(tree)
	kept, err := chooseExamples(o.Examples, examples)
	if err != nil {
		return err
	}
	if err := checkExampleDependencies(tree, srcModule, kept, examples); err != nil {
		return err
	}
	leftOut := map[string]bool{templateOnly: true}
	for _, e := range examples {
		if !slices.Contains(kept, e) {
			leftOut[e] = true
		}
	}
	progress("leaving out " + strings.Join(slices.Sorted(maps.Keys(leftOut)), ", "))
	names, err := packageNames(ctx, root)
	if err != nil {
		return err
	}
	p := pruner{module: srcModule, leftOut: leftOut, packageNames: names}
	if err := p.prune(tree); err != nil {
		return err
	}
	uncite(tree)
	rename(tree, srcModule, o.Module, o.Name)
	progress("writing " + o.Dir)
	if err := tree.write(o.Dir); err != nil {
		return err
	}
	for _, step := range [][]string{
		{"go", "run", "./cmd/signals"}, // the pages' signals, without the left-out ones
		{"go", "mod", "tidy"},          // dependencies only the left-out code had go
	} {
		progress(strings.Join(step, " "))
		if err := runIn(ctx, o.Dir, step...); err != nil {
			return err
		}
	}
	if !o.Git {
		return nil
	}
	progress("git init and first commit")
	return commitAll(ctx, o.Dir, fmt.Sprintf("Start %s from the Ironstar template", o.Name))
}

// emptyOrAbsent refuses to write over anything.
func emptyOrAbsent(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("-dir: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("-dir %s is not empty", dir)
	}
	return nil
}

// modulePath reads the template's module path from its go.mod.
func modulePath(tree tree) (string, error) {
	f, ok := tree["go.mod"]
	if !ok {
		return "", errors.New("the template has no go.mod")
	}
	if mod := modfile.ModulePath(f.data); mod != "" {
		return mod, nil
	}
	return "", errors.New("go.mod names no module")
}

// exampleNames are the feature folders (a features/NAME/feature.go) other
// than the core pages, sorted.
func exampleNames(tree tree) []string {
	var names []string
	for p := range tree {
		dir, file := path.Split(p)
		parent, name := path.Split(strings.TrimSuffix(dir, "/"))
		if file == "feature.go" && parent == "features/" && !slices.Contains(coreFeatures, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// chooseExamples reads -examples.
func chooseExamples(flag string, examples []string) ([]string, error) {
	switch flag {
	case "all":
		return examples, nil
	case "none":
		return nil, nil
	}
	var kept []string
	for name := range strings.SplitSeq(flag, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(examples, name) {
			return nil, fmt.Errorf("-examples: %q is not an example; choose all, none, or some of %s", name, strings.Join(examples, ", "))
		}
		kept = append(kept, name)
	}
	return kept, nil
}

// checkExampleDependencies refuses a kept example that imports a left-out
// one (analytics counts todo's events, say).
func checkExampleDependencies(tree tree, srcModule string, kept, examples []string) error {
	for p, f := range tree {
		owner := featureOf(p)
		if !slices.Contains(kept, owner) || path.Ext(p) != ".go" {
			continue
		}
		for _, e := range examples {
			if !slices.Contains(kept, e) && bytes.Contains(f.data, []byte(`"`+srcModule+"/features/"+e)) {
				return fmt.Errorf("-examples: %s needs %s (%s imports it)", owner, e, p)
			}
		}
	}
	return nil
}

// featureOf is the feature folder a path is in ("" for none).
func featureOf(p string) string {
	rest, ok := strings.CutPrefix(p, "features/")
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, "/")
	if !ok {
		return ""
	}
	return name
}

// packageNames maps the import path of every package the template builds
// with (tests included) to its name, which an import's path does not
// always say (github.com/go-chi/chi/v5 is chi).
func packageNames(ctx context.Context, root string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-test", "-tags", "cluster", "-f", "{{.ImportPath}} {{.Name}}", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w: %s", err, stderrOf(err))
	}
	names := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line) // a test's variant of a package reads "path [path.test] name"
		if len(fields) == 2 {
			names[fields[0]] = fields[1]
		}
	}
	return names, nil
}

// runIn runs a command in dir, its output shown only when it fails.
func runIn(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s in %s: %w\n%s", strings.Join(args, " "), dir, err, out)
	}
	return nil
}

// commitAll starts dir's history with one commit of everything in it. A
// machine with no git identity gets the app's own as the author.
func commitAll(ctx context.Context, dir, message string) error {
	if err := runIn(ctx, dir, "git", "init", "-q", "-b", "main"); err != nil {
		return err
	}
	if err := runIn(ctx, dir, "git", "add", "-A"); err != nil {
		return err
	}
	commit := []string{"git", "commit", "-q", "-m", message}
	if out, _ := exec.CommandContext(ctx, "git", "-C", dir, "config", "user.email").Output(); len(bytes.TrimSpace(out)) == 0 {
		commit = []string{"git", "-c", "user.name=" + filepath.Base(dir), "-c", "user.email=" + filepath.Base(dir) + "@localhost", "commit", "-q", "-m", message}
	}
	return runIn(ctx, dir, commit...)
}

// stderrOf is what a failed command said.
func stderrOf(err error) string {
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		return strings.TrimSpace(string(exit.Stderr))
	}
	return ""
}
