//ironstar:needs template

package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path"
)

// dropUnused removes, from the Go files of one folder, the unexported
// top-level declarations nothing uses once marked code was cut (the
// helpers of a left-out example's tests, say), until none is left: a
// helper of a helper goes too. The folder's packages are read together,
// test files included, since any of their files may use another's names.
func (p pruner) dropUnused(t tree, dir string) error {
	for {
		removed, err := p.dropUnusedOnce(t, dir)
		if err != nil || !removed {
			return err
		}
	}
}

// dropUnusedOnce is one round of dropUnused.
func (p pruner) dropUnusedOnce(t tree, dir string) (bool, error) {
	type parsed struct {
		name string
		fset *token.FileSet
		file *ast.File
	}
	var files []parsed
	used := map[string]map[string]bool{} // by package name: identifiers used
	for name, f := range t {
		if path.Dir(name) != dir || path.Ext(name) != ".go" {
			continue
		}
		fset := token.NewFileSet()
		af, err := parser.ParseFile(fset, name, f.data, parser.ParseComments)
		if err != nil {
			return false, err
		}
		files = append(files, parsed{name, fset, af})
		pkg := af.Name.Name
		if used[pkg] == nil {
			used[pkg] = map[string]bool{}
		}
		collectUses(af, used[pkg])
	}
	removed := false
	for _, pf := range files {
		var spans []span
		for _, decl := range pf.file.Decls {
			if !unusedDecl(decl, used[pf.file.Name.Name]) {
				continue
			}
			start := decl.Pos()
			if doc := declDoc(decl); doc != nil {
				start = doc.Pos()
			}
			src := t[pf.name].data
			spans = append(spans, wholeLines(src, pf.fset.Position(start).Offset, pf.fset.Position(decl.End()).Offset))
		}
		if len(spans) == 0 {
			continue
		}
		out, err := p.dropUnusedImports(cutSpans(t[pf.name].data, spans))
		if err != nil {
			return false, err
		}
		removed = true
		if empty(out) {
			delete(t, pf.name)
			continue
		}
		f := t[pf.name]
		f.data = out
		t[pf.name] = f
	}
	return removed, nil
}

// collectUses adds every identifier a file uses to used, leaving out the
// names its declarations declare and its methods' receivers (a method does
// not keep its type alive).
func collectUses(f *ast.File, used map[string]bool) {
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			ast.Inspect(d.Type, mark(used))
			if d.Body != nil {
				ast.Inspect(d.Body, mark(used))
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					ast.Inspect(s.Type, mark(used))
					if s.TypeParams != nil {
						ast.Inspect(s.TypeParams, mark(used))
					}
				case *ast.ValueSpec:
					if s.Type != nil {
						ast.Inspect(s.Type, mark(used))
					}
					for _, v := range s.Values {
						ast.Inspect(v, mark(used))
					}
				}
			}
		}
	}
}

// mark records identifiers.
func mark(used map[string]bool) func(ast.Node) bool {
	return func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			used[id.Name] = true
		}
		return true
	}
}

// unusedDecl reports whether a top-level declaration is unexported and
// unused: a function (not init, main or a method), a method of an unused
// type, or a type, var or const declaration all of whose names are unused.
// Exported names, tests and blank names stay.
func unusedDecl(decl ast.Decl, used map[string]bool) bool {
	dead := func(name string) bool {
		return name != "_" && !ast.IsExported(name) && !used[name]
	}
	switch d := decl.(type) {
	case *ast.FuncDecl:
		if d.Recv != nil {
			return dead(receiverType(d.Recv))
		}
		return d.Name.Name != "init" && d.Name.Name != "main" && dead(d.Name.Name)
	case *ast.GenDecl:
		if d.Tok == token.IMPORT || len(d.Specs) == 0 {
			return false
		}
		for _, spec := range d.Specs {
			switch s := spec.(type) {
			case *ast.TypeSpec:
				if !dead(s.Name.Name) {
					return false
				}
			case *ast.ValueSpec:
				for _, n := range s.Names {
					if !dead(n.Name) {
						return false
					}
				}
			}
		}
		return true
	}
	return false
}

// receiverType is the name of a method's receiver type.
func receiverType(recv *ast.FieldList) string {
	expr := recv.List[0].Type
	for {
		switch e := expr.(type) {
		case *ast.StarExpr:
			expr = e.X
		case *ast.IndexExpr:
			expr = e.X
		case *ast.IndexListExpr:
			expr = e.X
		case *ast.Ident:
			return e.Name
		default:
			return ""
		}
	}
}
