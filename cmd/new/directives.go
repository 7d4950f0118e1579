//ironstar:needs template

package main

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// An ironstar:needs directive marks what depends on example features, so
// that an app without them leaves it out too. It is a whole line, in the
// comment syntax of its file, naming the examples (or "template", for what
// only the template repository has):
//
//	//ironstar:needs todo counter        (Go)
//	# ironstar:needs todo                (YAML, shell)
//	// ironstar:needs sortable           (TypeScript)
//	<!-- ironstar:needs template -->     (Markdown)
//
// What it covers:
//
//   - Go: a directive above the package clause (apart from the package's
//     doc comment) covers the file; one ending a declaration's doc comment
//     covers the declaration; one ending the comment above an element of a
//     composite literal (one entry of a list) covers the element. Imports
//     and unexported declarations nothing uses any more go too.
//   - Any other text: a directive in the file's first paragraph (before its
//     first blank line) covers the file; elsewhere it covers the lines after
//     it up to the next blank line: one Taskfile task, one Markdown
//     paragraph, one shell block.
//
// Go files that only list features (features/features.go, cmd/signals)
// need no directive: the import of a left-out feature and the list entries
// that use it go. Directives of kept examples are removed from the output.
var directive = regexp.MustCompile(`^\s*(?://|#|<!--)\s*ironstar:needs((?:\s+[a-z][a-z0-9]*)+)\s*(?:-->)?\s*$`)

// needs reads a directive line: the examples it names, or nil if the line
// is not one.
func needs(line string) []string {
	m := directive.FindStringSubmatch(line)
	if m == nil {
		return nil
	}
	return strings.Fields(m[1])
}

// pruner leaves out of a tree what needs a left-out example.
type pruner struct {
	module       string            // the template's module path
	leftOut      map[string]bool   // examples (and "template") not in the app
	packageNames map[string]string // package name by import path
}

// covers reports whether a directive naming these examples covers
// something the app leaves out.
func (p pruner) covers(names []string) bool {
	for _, n := range names {
		if p.leftOut[n] {
			return true
		}
	}
	return false
}

// prune removes the left-out examples' folders and what is marked as
// needing them, file by file, then what Go code nothing uses any more.
func (p pruner) prune(t tree) error {
	touched := map[string]bool{} // Go package folders something was cut from
	for name, f := range t {
		if p.leftOut[featureOf(name)] {
			delete(t, name)
			continue
		}
		if !f.text() {
			continue
		}
		var (
			out  []byte
			keep bool
			cut  bool
			err  error
		)
		if path.Ext(name) == ".go" {
			out, keep, cut, err = p.pruneGo(f.data)
		} else {
			out, keep = p.pruneText(string(f.data))
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if !keep {
			delete(t, name)
			continue
		}
		if cut {
			touched[path.Dir(name)] = true
		}
		f.data = out
		t[name] = f
	}
	for dir := range touched {
		if err := p.dropUnused(t, dir); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
	}
	return nil
}

// pruneText applies the directives of a file that is not Go; keep is false
// when the whole file goes.
func (p pruner) pruneText(text string) (out []byte, keep bool) {
	if !strings.Contains(text, "ironstar:needs") {
		return []byte(text), true
	}
	lines := strings.SplitAfter(text, "\n")
	var b strings.Builder
	firstParagraph := true
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.TrimSpace(line) == "" {
			firstParagraph = false
		}
		names := needs(line)
		switch {
		case names == nil:
			b.WriteString(line)
		case !p.covers(names):
			// a kept example's directive: the line goes, what it covers stays
		case firstParagraph:
			return nil, false
		default:
			for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
				i++
			}
			// and the blank line after, unless the paragraph ended the file
			if i+1 < len(lines) && endsBlank(b.String()) {
				i++
			}
		}
	}
	return []byte(b.String()), true
}

// endsBlank reports whether text ends with a blank line (or is empty), so
// that cutting a paragraph should take the blank line after it too.
func endsBlank(text string) bool {
	return text == "" || strings.HasSuffix(text, "\n\n")
}
