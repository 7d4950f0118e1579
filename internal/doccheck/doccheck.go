// Package doccheck finds what a Markdown page cites from the repository:
// relative links, file paths and test names in code spans, and go tool
// task commands. The docs test checks that each exists, so the docs cannot
// rot; cmd/new turns citations of what an app left out into plain text.
package doccheck

import (
	"go/build"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Kind is what a citation names.
type Kind int

const (
	// Link is a Markdown link to a relative target (a page, a file).
	Link Kind = iota
	// Path is a file or folder of the repository in backticks, relative to
	// its root.
	Path
	// Test is a test, fuzz test or benchmark in backticks.
	Test
	// Task is go tool task NAME, in backticks or in a fenced block.
	Task
)

// Citation is one thing a page cites.
type Citation struct {
	Kind Kind
	// Target is what it names: a link's target as written (relative to
	// its page, maybe with a #fragment), a path, a test or a task name.
	Target string
	// Start and End are the bytes of the page that cite it: the link, the
	// code span with its backticks, or a fenced block's line.
	Start, End int
	// Plain is the same text as a mention rather than a citation: a link's
	// label, a code span's text, nothing for a fenced line.
	Plain string
}

var (
	// fencedBlock is a ``` block; its text is an example, not a reference,
	// except for the tasks it runs.
	fencedBlock = regexp.MustCompile("(?ms)^```.*?^```[^\n]*$")
	// codeSpan is `text`, which may wrap onto the next line.
	codeSpan = regexp.MustCompile("`([^`]+)`")
	// link is a Markdown link: its label and its target.
	link = regexp.MustCompile(`\[([^\]]*)\]\(([^)\s]+)\)`)
	// taskMention is a task named after go tool task (flags such as --list
	// start with a dash and are not names).
	taskMention = regexp.MustCompile(`go\s+tool\s+task\s+([a-z][a-z0-9:_-]*)`)
	// repoPath is what a path in the repository can be made of.
	repoPath = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*/?$`)
	// testName is a test, fuzz test or benchmark.
	testName = regexp.MustCompile(`^(Test|Fuzz|Benchmark)[A-Za-z0-9_]*$`)
	// allCaps is a name such as HOST or EVENTS_MAX_BYTES.
	allCaps = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)
)

// Find returns the citations of a page, in order.
func Find(page string) []Citation {
	// Fenced blocks are blanked (same length, so offsets hold) for the
	// links and code spans, and read line by line for tasks.
	masked := []byte(page)
	var cites []Citation
	for _, block := range fencedBlock.FindAllStringIndex(page, -1) {
		for i := block[0]; i < block[1]; i++ {
			if masked[i] != '\n' {
				masked[i] = ' '
			}
		}
		at := block[0]
		for line := range strings.SplitAfterSeq(page[block[0]:block[1]], "\n") {
			if m := taskMention.FindStringSubmatch(line); m != nil {
				cites = append(cites, Citation{Kind: Task, Target: strings.TrimRight(m[1], ":"), Start: at, End: at + len(line)})
			}
			at += len(line)
		}
	}
	text := string(masked)
	for _, m := range link.FindAllStringSubmatchIndex(text, -1) {
		target := text[m[4]:m[5]]
		if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") || strings.HasPrefix(target, "#") {
			continue
		}
		cites = append(cites, Citation{Kind: Link, Target: target, Start: m[0], End: m[1], Plain: strings.ReplaceAll(text[m[2]:m[3]], "`", "")})
	}
	for _, m := range codeSpan.FindAllStringSubmatchIndex(text, -1) {
		span := strings.Join(strings.Fields(text[m[2]:m[3]]), " ")
		c := Citation{Start: m[0], End: m[1], Plain: text[m[2]:m[3]]}
		switch task := taskMention.FindStringSubmatch(span); {
		case task != nil:
			c.Kind, c.Target = Task, strings.TrimRight(task[1], ":")
		case testName.MatchString(span):
			c.Kind, c.Target = Test, span
		case looksLikeRepoPath(span):
			c.Kind, c.Target = Path, strings.TrimPrefix(span, "./")
		default:
			continue
		}
		cites = append(cites, c)
	}
	sortByStart(cites)
	return cites
}

// CodeSpans returns the text of every `code span` outside fenced blocks,
// with a wrapped span's line break read as a space.
func CodeSpans(page string) []string {
	var spans []string
	for _, m := range codeSpan.FindAllStringSubmatch(fencedBlock.ReplaceAllString(page, ""), -1) {
		spans = append(spans, strings.Join(strings.Fields(m[1]), " "))
	}
	return spans
}

// IsAllCaps reports whether a name is written like an environment
// variable: HOST, EVENTS_MAX_BYTES.
func IsAllCaps(name string) bool { return allCaps.MatchString(name) }

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

// Uncite rewrites a page so that the citations missing reports true for
// read as plain mentions: a link becomes its label, a code span its text,
// a fenced line that runs a missing task goes. A citation inside another
// (a path in a link's label) goes with the outer one.
func Uncite(page string, missing func(Citation) bool) string {
	var b strings.Builder
	at := 0
	for _, c := range Find(page) {
		if c.Start < at || !missing(c) {
			continue
		}
		b.WriteString(page[at:c.Start])
		b.WriteString(c.Plain)
		at = c.End
	}
	b.WriteString(page[at:])
	return b.String()
}

// sortByStart orders citations by where they start, an outer one (a link)
// before those inside it.
func sortByStart(cites []Citation) {
	slices.SortFunc(cites, func(a, b Citation) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return b.End - a.End
	})
}
