package docs

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"ironstar/internal/doccheck"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = ".."

// configurationPage is the page that lists every environment variable.
const configurationPage = "08-configuration.md"

// runtimeVariables are read by Go's runtime, not by the app's code.
var runtimeVariables = []string{"GOGC", "GOMEMLIMIT"}

// variableRead is an environment variable's name as the config code passes
// it: the first (or a later) argument of get, count, size, duration, fail
// or os.LookupEnv.
var variableRead = regexp.MustCompile(`[(,]\s*"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,})"`)

// readme is the repository's front door, seen from this package's
// directory; it is checked like the pages under docs/.
const readme = repoRoot + "/README.md"

// page is one Markdown file: the README or a page under docs/.
type page struct {
	name string // from the repository's root, e.g. "docs/decisions/0001-….md"
	dir  string // the folder its links are relative to, from this package's directory
	text string
}

// pages reads the README and every Markdown file under docs/.
func pages(t *testing.T) []page {
	t.Helper()
	text, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	all := []page{{name: "README.md", dir: repoRoot, text: string(text)}}
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".md" {
			return err
		}
		text, err := os.ReadFile(path)
		all = append(all, page{name: "docs/" + filepath.ToSlash(path), dir: filepath.Dir(path), text: string(text)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 1 {
		t.Fatal("no Markdown files under docs/")
	}
	return all
}

// TestWhatTheDocsCiteExists: every relative link, file or folder path in
// backticks, test in backticks and go tool task command in the README and
// the docs names something the repository has. Links are relative to their
// page, as Markdown reads them (the README's to the repository's root);
// paths are relative to the root, and may name what the tasks build (a
// folder .gitignore lists as built, such as bin/); tests are declared in a
// _test.go file; tasks are defined in Taskfile.yml and not internal. (The
// rules of what counts as a citation: internal/doccheck.)
func TestWhatTheDocsCiteExists(t *testing.T) {
	t.Parallel()
	tests := declaredTests(t)
	taskfile := read(t, filepath.Join(repoRoot, "Taskfile.yml"))
	tasks := doccheck.Tasks(taskfile)
	if len(tasks) == 0 {
		t.Fatal("found no tasks in Taskfile.yml")
	}
	gitignore := read(t, filepath.Join(repoRoot, ".gitignore"))
	for _, p := range pages(t) {
		for _, c := range doccheck.Find(p.text) {
			cited := strings.Join(strings.Fields(p.text[c.Start:c.End]), " ")
			switch c.Kind {
			case doccheck.Link:
				target, _, _ := strings.Cut(c.Target, "#")
				resolved := filepath.Join(p.dir, target)
				if _, err := os.Stat(resolved); err != nil {
					root, _ := filepath.Abs(repoRoot)
					abs, _ := filepath.Abs(resolved)
					fromRoot, _ := filepath.Rel(root, abs)
					t.Errorf("%s: %s points to nothing: %s is not in the repository", p.name, cited, filepath.ToSlash(fromRoot))
				}
			case doccheck.Path:
				if _, err := os.Stat(filepath.Join(repoRoot, c.Target)); err != nil && !doccheck.BuildOutput(gitignore, c.Target) {
					t.Errorf("%s: %s does not exist in the repository (paths in backticks are relative to its root)", p.name, cited)
				}
			case doccheck.Test:
				if !tests[c.Target] {
					t.Errorf("%s: %s names a test that no _test.go file declares", p.name, cited)
				}
			case doccheck.Task:
				if !tasks[c.Target] {
					t.Errorf("%s: %q names task %q, which Taskfile.yml does not define (or marks internal)", p.name, cited, c.Target)
				}
			}
		}
	}
}

// declaredTests returns the names of every test, fuzz test and benchmark
// in the repository.
func declaredTests(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != repoRoot && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		for _, name := range doccheck.TestsDeclared(read(t, path)) {
			names[name] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// read returns a file's text.
func read(t *testing.T, path string) string {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

// configSources returns the Go files that read the app's settings, test
// files aside.
func configSources(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(repoRoot, "config", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, filepath.Join(repoRoot, "cmd", "app", "main.go"))
	sources := map[string]string{}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sources[filepath.ToSlash(strings.TrimPrefix(path, repoRoot+string(filepath.Separator)))] = string(src)
	}
	return sources
}

// documentedVariables returns the variables the configuration page names:
// every ALL_CAPS_WITH_UNDERSCORES in backticks, and every ALL_CAPS name in
// backticks in a table's first column (HOST, PORT).
func documentedVariables(t *testing.T) map[string]bool {
	t.Helper()
	text, err := os.ReadFile(configurationPage)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, span := range doccheck.CodeSpans(string(text)) {
		if doccheck.IsAllCaps(span) && strings.Contains(span, "_") {
			names[span] = true
		}
	}
	for line := range strings.SplitSeq(string(text), "\n") {
		if first, ok := firstCell(line); ok {
			for _, span := range doccheck.CodeSpans(first) {
				if doccheck.IsAllCaps(span) {
					names[span] = true
				}
			}
		}
	}
	return names
}

// firstCell returns the first cell of a Markdown table row.
func firstCell(line string) (string, bool) {
	if !strings.HasPrefix(line, "|") {
		return "", false
	}
	cells := strings.Split(line, "|")
	return cells[1], len(cells) > 2
}

// TestConfigurationNamesOnlyVariablesTheAppReads: every variable of
// 08-configuration.md is read by config/ or cmd/app/main.go, or by Go's
// runtime.
func TestConfigurationNamesOnlyVariablesTheAppReads(t *testing.T) {
	t.Parallel()
	sources := configSources(t)
	for name := range documentedVariables(t) {
		if slices.Contains(runtimeVariables, name) {
			continue
		}
		read := false
		for _, src := range sources {
			read = read || strings.Contains(src, `"`+name+`"`)
		}
		if !read {
			t.Errorf("docs/%s: `%s` is read by neither config/*.go nor cmd/app/main.go (nor is it a Go runtime variable)", configurationPage, name)
		}
	}
}

// TestConfigurationListsEveryVariable: 08-configuration.md names every
// variable the config code reads.
func TestConfigurationListsEveryVariable(t *testing.T) {
	t.Parallel()
	documented := documentedVariables(t)
	sources := configSources(t)
	missing := map[string]bool{}
	for _, file := range slices.Sorted(maps.Keys(sources)) {
		for _, m := range variableRead.FindAllStringSubmatch(sources[file], -1) {
			if name := m[1]; !documented[name] && !missing[name] {
				missing[name] = true
				t.Errorf("docs/%s: does not list %s, which %s reads", configurationPage, name, file)
			}
		}
	}

}

// testCommand is the README's test command, the one CI runs: a line of a
// fenced block that is exactly go tool task test (a comment may follow).
var testCommand = regexp.MustCompile(`(?m)^go tool task test(\s+#.*)?$`)

// TestTheReadmeShowsTheTestCommand: the README's fenced blocks show the test
// command as CI runs it, so that what a newcomer runs is what CI runs.
func TestTheReadmeShowsTheTestCommand(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range doccheck.Find(string(text)) {
		if c.Kind == doccheck.Task && testCommand.MatchString(string(text[c.Start:c.End])) {
			return
		}
	}
	t.Error("README.md: no fenced block has the line go tool task test, the command CI runs")
}

// TestTheReadmeMapsEveryDocsPage: the README links every Markdown page
// under docs/, so a new page cannot be left off the map.
func TestTheReadmeMapsEveryDocsPage(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	linked := map[string]bool{}
	for _, c := range doccheck.Find(string(text)) {
		if c.Kind == doccheck.Link {
			target, _, _ := strings.Cut(c.Target, "#")
			linked[filepath.ToSlash(filepath.Clean(target))] = true
		}
	}
	for _, p := range pages(t) {
		if p.name != "README.md" && !linked[p.name] {
			t.Errorf("README.md: the map of the docs does not link %s", p.name)
		}
	}
}
