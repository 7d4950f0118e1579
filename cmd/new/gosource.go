//ironstar:needs template

package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"path"
	"slices"
	"strconv"
	"strings"
)

// span is a byte range [start, end) of a source file to cut.
type span struct{ start, end int }

// pruneGo applies the directives of a Go file and removes the entries that
// list a left-out feature; keep is false when the whole file goes, cut
// whether anything was removed.
func (p pruner) pruneGo(src []byte) (out []byte, keep, cut bool, err error) {
	if !bytes.Contains(src, []byte("ironstar:needs")) && !bytes.Contains(src, []byte(`"`+p.module+"/features/")) {
		return src, true, false, nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ParseComments)
	if err != nil {
		return nil, false, false, err
	}
	for _, group := range f.Comments {
		if group.End() < f.Package && p.covers(groupNeeds(group)) {
			return nil, false, false, nil
		}
	}
	offset := func(pos token.Pos) int { return fset.Position(pos).Offset }
	var spans []span

	// declarations whose doc comment ends with a directive
	for _, decl := range f.Decls {
		doc := declDoc(decl)
		if doc != nil && p.covers(lastLineNeeds(doc)) {
			spans = append(spans, wholeLines(src, offset(doc.Pos()), offset(decl.End())))
		}
	}

	// imports of left-out features, by the name the file uses them under
	leftOutImports := map[string]bool{}
	for _, imp := range f.Imports {
		importPath, _ := strconv.Unquote(imp.Path.Value)
		if rel, ok := strings.CutPrefix(importPath, p.module+"/"); ok && p.leftOut[featureOf(rel+"/")] {
			leftOutImports[p.localName(imp)] = true
			spans = append(spans, wholeLines(src, offset(imp.Pos()), offset(imp.End())))
		}
	}

	// list entries: marked by a directive, or using a left-out import
	var listErr error
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		for _, elt := range lit.Elts {
			comment := commentAbove(fset, f, elt)
			if !(comment != nil && p.covers(lastLineNeeds(comment))) && !uses(elt, leftOutImports) {
				ast.Inspect(elt, visit) // a list inside a kept entry
				continue
			}
			start := offset(elt.Pos())
			if comment != nil {
				start = offset(comment.Pos())
			}
			s, err := entryLines(src, start, offset(elt.End()))
			if err != nil {
				listErr = errors.Join(listErr, fmt.Errorf("line %d: %w", fset.Position(elt.Pos()).Line, err))
			}
			spans = append(spans, s)
		}
		return false
	}
	ast.Inspect(f, visit)
	if listErr != nil {
		return nil, false, false, listErr
	}

	// any other use of a left-out feature must have been marked
	ast.Inspect(f, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && leftOutImports[id.Name] && !within(spans, offset(id.Pos())) && !isImportName(f, id) {
			listErr = errors.Join(listErr, fmt.Errorf("line %d uses %s, a left-out example, outside a list: mark what needs it with an ironstar:needs directive", fset.Position(id.Pos()).Line, id.Name))
		}
		return true
	})
	if listErr != nil {
		return nil, false, false, listErr
	}

	out = stripDirectives(cutSpans(src, spans))
	if out, err = p.dropUnusedImports(out); err != nil {
		return nil, false, false, err
	}
	if len(spans) > 0 && empty(out) {
		return nil, false, true, nil
	}
	return out, true, len(spans) > 0, nil
}

// declDoc is a top-level declaration's doc comment.
func declDoc(decl ast.Decl) *ast.CommentGroup {
	switch d := decl.(type) {
	case *ast.FuncDecl:
		return d.Doc
	case *ast.GenDecl:
		return d.Doc
	}
	return nil
}

// groupNeeds is every example the directives of a comment group name.
func groupNeeds(group *ast.CommentGroup) []string {
	var names []string
	for _, c := range group.List {
		names = append(names, needs(c.Text)...)
	}
	return names
}

// lastLineNeeds is what a directive ending a comment group names.
func lastLineNeeds(group *ast.CommentGroup) []string {
	return needs(group.List[len(group.List)-1].Text)
}

// commentAbove is the comment group ending on the line just above node.
func commentAbove(fset *token.FileSet, f *ast.File, node ast.Node) *ast.CommentGroup {
	line := fset.Position(node.Pos()).Line
	for _, group := range f.Comments {
		if fset.Position(group.End()).Line == line-1 {
			return group
		}
	}
	return nil
}

// uses reports whether node refers to one of the named imports.
func uses(node ast.Node, imports map[string]bool) bool {
	found := false
	ast.Inspect(node, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && imports[id.Name] {
				found = true
			}
		}
		return !found
	})
	return found
}

// isImportName reports whether id is the name in an import spec.
func isImportName(f *ast.File, id *ast.Ident) bool {
	for _, imp := range f.Imports {
		if imp.Name == id {
			return true
		}
	}
	return false
}

// localName is the name a file uses an import under.
func (p pruner) localName(imp *ast.ImportSpec) string {
	if imp.Name != nil {
		return imp.Name.Name
	}
	importPath, _ := strconv.Unquote(imp.Path.Value)
	if name, ok := p.packageNames[importPath]; ok {
		return name
	}
	return path.Base(importPath)
}

// wholeLines widens [start, end) to the lines it is on.
func wholeLines(src []byte, start, end int) span {
	for start > 0 && src[start-1] != '\n' {
		start--
	}
	if i := bytes.IndexByte(src[end:], '\n'); i >= 0 {
		end += i + 1
	} else {
		end = len(src)
	}
	return span{start, end}
}

// entryLines is an entry of a list (and its comment) with its comma, as
// whole lines; an entry sharing a line with another cannot be cut alone.
func entryLines(src []byte, start, end int) (span, error) {
	s := wholeLines(src, start, end)
	before := strings.TrimSpace(string(src[s.start:start]))
	after := strings.TrimSpace(string(src[end:s.end]))
	after = strings.TrimSpace(strings.TrimPrefix(after, ","))
	if before != "" || (after != "" && !strings.HasPrefix(after, "//")) {
		return span{}, errors.New("a list entry to leave out shares its line with others: put it on lines of its own")
	}
	return s, nil
}

// within reports whether offset is in one of the spans.
func within(spans []span, offset int) bool {
	return slices.ContainsFunc(spans, func(s span) bool { return s.start <= offset && offset < s.end })
}

// cutSpans removes the spans (which may overlap or nest) from src.
func cutSpans(src []byte, spans []span) []byte {
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var out []byte
	at := 0
	for _, s := range spans {
		if s.start > at {
			out = append(out, src[at:s.start]...)
		}
		at = max(at, s.end)
	}
	return append(out, src[at:]...)
}

// stripDirectives removes the lines of the directives that stay (those of
// kept examples): the app has no use for them.
func stripDirectives(src []byte) []byte {
	var out []byte
	for line := range bytes.Lines(src) {
		if needs(string(line)) == nil {
			out = append(out, line...)
		}
	}
	return out
}

// dropUnusedImports removes the imports nothing in the file uses any more,
// and formats it.
func (p pruner) dropUnusedImports(src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	// An import is used where a selector's left side is its name and
	// resolves to nothing in the file (a local variable of the same name,
	// which the parser resolves, does not use it).
	used := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Obj == nil {
				used[id.Name] = true
			}
		}
		return true
	})
	offset := func(pos token.Pos) int { return fset.Position(pos).Offset }
	var spans []span
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.IMPORT {
			continue
		}
		var unused []span
		for _, spec := range gen.Specs {
			imp := spec.(*ast.ImportSpec)
			if name := p.localName(imp); name != "_" && name != "." && !used[name] {
				unused = append(unused, wholeLines(src, offset(imp.Pos()), offset(imp.End())))
			}
		}
		if len(unused) == len(gen.Specs) { // no empty import ( ) left behind
			unused = []span{wholeLines(src, offset(gen.Pos()), offset(gen.End()))}
		}
		spans = append(spans, unused...)
	}
	return format.Source(cutSpans(src, spans))
}

// empty reports whether Go source declares nothing (imports aside) and
// has no package doc comment: what is left of a file whose every
// declaration needed a left-out example.
func empty(src []byte) bool {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.ParseComments)
	if err != nil || f.Doc != nil {
		return false
	}
	for _, decl := range f.Decls {
		if gen, ok := decl.(*ast.GenDecl); !ok || gen.Tok != token.IMPORT {
			return false
		}
	}
	return true
}
