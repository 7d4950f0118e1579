package doccheck

import (
	"regexp"
	"strings"
)

// testFunc declares a test, fuzz test or benchmark in a _test.go file.
var testFunc = regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]*)\(`)

// TestsDeclared returns the tests, fuzz tests and benchmarks a _test.go
// file declares.
func TestsDeclared(src string) []string {
	var names []string
	for _, m := range testFunc.FindAllStringSubmatch(src, -1) {
		names = append(names, m[1])
	}
	return names
}

// taskKey is a task's key under tasks: (two spaces in).
var taskKey = regexp.MustCompile(`^  "?([A-Za-z0-9:_-]+)"?:\s*$`)

// Tasks returns the tasks a Taskfile defines that can be run by name
// (internal ones cannot), read simply: the two-space keys under tasks:.
func Tasks(taskfile string) map[string]bool {
	defined := map[string]bool{}
	inTasks, current := false, ""
	for line := range strings.SplitSeq(taskfile, "\n") {
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
	return defined
}

// BuildOutput reports whether a path is in a folder .gitignore lists as
// built (a line such as /bin/): docs may cite what the tasks build,
// which a fresh clone does not have yet.
func BuildOutput(gitignore, path string) bool {
	for line := range strings.SplitSeq(gitignore, "\n") {
		line = strings.TrimSpace(line)
		dir, ok := strings.CutPrefix(line, "/")
		if !ok || !strings.HasSuffix(dir, "/") {
			continue
		}
		if strings.HasPrefix(strings.TrimSuffix(path, "/")+"/", dir) {
			return true
		}
	}
	return false
}
