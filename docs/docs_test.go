package docs

import (
	"go/build"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = ".."

// configurationPage is the page that lists every environment variable.
const configurationPage = "08-configuration.md"

// runtimeVariables are read by Go's runtime, not by the app's code.
var runtimeVariables = []string{"GOGC", "GOMEMLIMIT"}

var (
	// fencedBlock is a ``` block; its text is an example, not a reference.
	fencedBlock = regexp.MustCompile("(?ms)^```.*?^```[^\n]*$")
	// codeSpan is `text`, which may wrap onto the next line.
	codeSpan = regexp.MustCompile("`([^`]+)`")
	// link is a Markdown link's target.
	link = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// taskMention is a task named after go tool task (flags such as --list
	// start with a dash and are not names).
	taskMention = regexp.MustCompile(`go\s+tool\s+task\s+([a-z][a-z0-9:_-]*)`)
	// repoPath is what a path in the repository can be made of.
	repoPath = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*/?$`)
	// testName is a test, fuzz test or benchmark named in backticks.
	testName = regexp.MustCompile(`^(Test|Fuzz|Benchmark)[A-Za-z0-9_]*$`)
	// testFunc declares one in a _test.go file.
	testFunc = regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]*)\(`)
	// allCaps is a name such as HOST or EVENTS_MAX_BYTES.
	allCaps = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)
	// variableRead is an environment variable's name as the config code
	// passes it: the first (or a later) argument of get, count, size,
	// duration, fail or os.LookupEnv.
	variableRead = regexp.MustCompile(`[(,]\s*"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,})"`)
)

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

// codeSpans returns the text of every `code span` outside fenced blocks,
// with a wrapped span's line break read as a space.
func codeSpans(text string) []string {
	var spans []string
	for _, m := range codeSpan.FindAllStringSubmatch(fencedBlock.ReplaceAllString(text, ""), -1) {
		spans = append(spans, strings.Join(strings.Fields(m[1]), " "))
	}
	return spans
}

// looksLikeRepoPath reports whether a code span names a file or folder of
// the repository: a slash, no spaces, not a URL path (/health/ready), a
// module path (github.com/…), a path under a setting (DATA_DIR/nats) or a
// standard-library package (net/http/pprof).
func looksLikeRepoPath(span string) bool {
	path := strings.TrimPrefix(span, "./")
	if !strings.Contains(path, "/") || !repoPath.MatchString(path) {
		return false
	}
	first, _, _ := strings.Cut(path, "/")
	if strings.Contains(strings.TrimPrefix(first, "."), ".") || allCaps.MatchString(first) {
		return false
	}
	if _, err := os.Stat(filepath.Join(build.Default.GOROOT, "src", path)); err == nil {
		return false
	}
	return true
}

// TestPathsInTheDocsExist: every relative link, and every file or folder
// path in backticks, names something in the repository, in the README as
// in the docs. Links are relative to their page, as Markdown reads them
// (the README's to the repository's root); paths in backticks are relative
// to the repository's root.
func TestPathsInTheDocsExist(t *testing.T) {
	t.Parallel()
	for _, p := range pages(t) {
		for _, m := range link.FindAllStringSubmatch(p.text, -1) {
			target, _, _ := strings.Cut(m[1], "#")
			if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			resolved := filepath.Join(p.dir, target)
			if _, err := os.Stat(resolved); err != nil {
				fromRoot, _ := filepath.Rel(repoRoot, resolved)
				t.Errorf("%s: link (%s) points to nothing: %s is not in the repository", p.name, m[1], filepath.ToSlash(fromRoot))
			}
		}
		for _, span := range codeSpans(p.text) {
			if !looksLikeRepoPath(span) {
				continue
			}
			if _, err := os.Stat(filepath.Join(repoRoot, span)); err != nil {
				t.Errorf("%s: `%s` does not exist in the repository (paths in backticks are relative to its root)", p.name, span)
			}
		}
	}
}

// testFuncs returns the names of every test, fuzz test and benchmark in
// the repository.
func testFuncs(t *testing.T) map[string]bool {
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
		src, err := os.ReadFile(path)
		for _, m := range testFunc.FindAllStringSubmatch(string(src), -1) {
			names[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestTestsInTheDocsExist: every test, fuzz test or benchmark the README
// and the docs name in backticks (as the proof of a claim) is declared
// somewhere.
func TestTestsInTheDocsExist(t *testing.T) {
	t.Parallel()
	declared := testFuncs(t)
	for _, p := range pages(t) {
		for _, span := range codeSpans(p.text) {
			if testName.MatchString(span) && !declared[span] {
				t.Errorf("%s: `%s` names a test that no _test.go file declares", p.name, span)
			}
		}
	}
}

// tasks returns the tasks Taskfile.yml defines that can be run by name
// (internal ones cannot), read simply: the two-space keys under tasks:.
func tasks(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "Taskfile.yml"))
	if err != nil {
		t.Fatal(err)
	}
	taskKey := regexp.MustCompile(`^  "?([A-Za-z0-9:_-]+)"?:\s*$`)
	defined := map[string]bool{}
	inTasks, current := false, ""
	for line := range strings.SplitSeq(string(src), "\n") {
		switch {
		case line == "tasks:":
			inTasks = true
		case line != "" && line[0] != ' ' && line[0] != '#':
			inTasks = false // the next top-level key
		case !inTasks:
		case taskKey.MatchString(line):
			current = taskKey.FindStringSubmatch(line)[1]
			defined[current] = true
		case strings.TrimSpace(line) == "internal: true" && current != "":
			delete(defined, current)
		}
	}
	if len(defined) == 0 {
		t.Fatal("found no tasks in Taskfile.yml")
	}
	return defined
}

// TestTasksInTheDocsAreDefined: every go tool task NAME in the README and
// the docs is a task of Taskfile.yml that can be run from the command line.
func TestTasksInTheDocsAreDefined(t *testing.T) {
	t.Parallel()
	defined := tasks(t)
	for _, p := range pages(t) {
		for _, m := range taskMention.FindAllStringSubmatch(p.text, -1) {
			name := strings.TrimRight(m[1], ":")
			if !defined[name] {
				t.Errorf("%s: %q names task %q, which Taskfile.yml does not define (or marks internal)", p.name, strings.Join(strings.Fields(m[0]), " "), name)
			}
		}
	}
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
	for _, span := range codeSpans(string(text)) {
		if allCaps.MatchString(span) && strings.Contains(span, "_") {
			names[span] = true
		}
	}
	for line := range strings.SplitSeq(string(text), "\n") {
		if first, ok := firstCell(line); ok {
			for _, span := range codeSpans(first) {
				if allCaps.MatchString(span) {
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
// variable the config code reads, and every variable of the README's
// configuration table while the README has one.
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

	text, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	table := readmeConfigurationTable(string(text))
	for _, name := range table {
		if !documented[name] {
			t.Errorf("docs/%s: does not list %s, which the README's configuration table does", configurationPage, name)
		}
	}
	if len(table) == 0 {
		t.Log("the README has no configuration table; docs/" + configurationPage + " is checked against the code only")
	}
}

// readmeConfigurationTable returns the variables in the first column of the
// table under the README's "## Configuration" heading.
func readmeConfigurationTable(readme string) []string {
	var names []string
	inSection := false
	for line := range strings.SplitSeq(readme, "\n") {
		if strings.HasPrefix(line, "## ") {
			inSection = strings.TrimSpace(line) == "## Configuration"
			continue
		}
		if first, ok := firstCell(line); ok && inSection {
			for _, span := range codeSpans(first) {
				if allCaps.MatchString(span) {
					names = append(names, span)
				}
			}
		}
	}
	return names
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
	for _, block := range fencedBlock.FindAllString(string(text), -1) {
		if testCommand.MatchString(block) {
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
	for _, m := range link.FindAllStringSubmatch(string(text), -1) {
		target, _, _ := strings.Cut(m[1], "#")
		linked[filepath.ToSlash(filepath.Clean(target))] = true
	}
	for _, p := range pages(t) {
		if p.name != "README.md" && !linked[p.name] {
			t.Errorf("README.md: the map of the docs does not link %s", p.name)
		}
	}
}
