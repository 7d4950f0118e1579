package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// goList runs go list with args in the module's root and returns its output.
func goList(t *testing.T, root string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = root
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// module returns the module's root directory and path.
func module(t *testing.T) (root, path string) {
	t.Helper()
	fields := strings.Fields(goList(t, ".", "-m", "-f", "{{.Dir}} {{.Path}}"))
	if len(fields) != 2 {
		t.Fatalf("go list -m: %q, want the module's directory and path", fields)
	}
	return fields[0], fields[1]
}

// A feature's domain file (the one declaring its Decider) is pure: it
// imports only the standard library and the es kernel, so its rules can be
// read, tested and moved without the web, NATS or the store.
func TestDomainFilesImportOnlyTheStandardLibraryAndES(t *testing.T) {
	t.Parallel()
	root, mod := module(t)
	std := map[string]bool{}
	for _, p := range strings.Fields(goList(t, root, "std")) {
		std[p] = true
	}
	kernel := mod + "/es"
	files, err := filepath.Glob(filepath.Join(root, "features", "*", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var checked, bad []string
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if !declaresDecider(f) {
			continue
		}
		rel, _ := filepath.Rel(root, file)
		checked = append(checked, rel)
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !std[path] && path != kernel {
				bad = append(bad, rel+" imports "+path)
			}
		}
	}
	if len(checked) == 0 {
		t.Skip("no feature declares a Decider")
	}
	if len(bad) > 0 {
		t.Errorf("a domain file may import only the standard library and %s; move the rest to the feature's handlers or projection:\n\t%s",
			kernel, strings.Join(bad, "\n\t"))
	}
	t.Logf("domain files checked: %s", strings.Join(checked, ", "))
}

// declaresDecider reports whether f declares the package function Decider.
func declaresDecider(f *ast.File) bool {
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "Decider" {
			return true
		}
	}
	return false
}

// Features reach JetStream through the es, eventstore, projection and
// session packages, and the embedded server only through the composition
// root: a feature that imports either directly ties its code to NATS.
// features/feature, the seam between the app and its features, is one
// exception; an engine (features/NAME/engine, such as analytics') is the
// other: a process of its own, run from cmd/, it wires its own NATS as a
// composition root does. Tests may import them to set up a store.
func TestFeaturesDoNotImportNATSDirectly(t *testing.T) {
	t.Parallel()
	root, mod := module(t)
	forbidden := []string{"github.com/nats-io/nats.go/jetstream", "github.com/nats-io/nats-server"}
	var bad []string
	for line := range strings.Lines(goList(t, root, "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./features/...")) {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] == mod+"/features/feature" || strings.HasSuffix(fields[0], "/engine") {
			continue
		}
		for _, imp := range fields[1:] {
			for _, f := range forbidden {
				if imp == f || strings.HasPrefix(imp, f+"/") {
					bad = append(bad, fields[0]+" imports "+imp)
				}
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("only %s/features/feature may import JetStream or the NATS server among the features; use es, nats/eventstore, nats/projection or session instead:\n\t%s",
			mod, strings.Join(bad, "\n\t"))
	}
}

// TestOnlyTheCompositionRootLinksTheNATSServer: the embedded server starts
// in nats/broker, which only the composition root (and tooling) imports, so
// the features and the packages they use do not link nats-server at all.
func TestOnlyTheCompositionRootLinksTheNATSServer(t *testing.T) {
	t.Parallel()
	root, mod := module(t)
	var bad []string
	for line := range strings.Lines(goList(t, root, "-deps", "-f", "{{.ImportPath}}", "./features/...", "./session", "./es/...", "./sse", "./nats/projection", "./nats/eventstore", "./nats/jetstreamx")) {
		if dep := strings.TrimSpace(line); strings.HasPrefix(dep, "github.com/nats-io/nats-server") || dep == mod+"/nats/broker" {
			bad = append(bad, dep)
		}
	}
	if len(bad) > 0 {
		t.Errorf("the features or the packages they use link the NATS server; only cmd/app (through nats/broker) should:\n\t%s", strings.Join(bad, "\n\t"))
	}
}

// cgoPackages lists the packages outside the standard library, among pkg
// and its dependencies, that have cgo files.
func cgoPackages(t *testing.T, pkg string) []string {
	t.Helper()
	root, _ := module(t)
	return strings.Fields(goList(t, root, "-deps", "-f", "{{if and (not .Standard) .CgoFiles}}{{.ImportPath}}{{end}}", pkg))
}

// TestTheWebAppIsPureGo: nothing cmd/app links has cgo files, so it builds
// with CGO_ENABLED=0 into a static binary, with no C toolchain (DuckDB
// lives in the analytics engine, cmd/analytics).
func TestTheWebAppIsPureGo(t *testing.T) {
	t.Parallel()
	if cgo := cgoPackages(t, "./cmd/app"); len(cgo) > 0 {
		t.Errorf("cmd/app links packages with cgo files; move them behind a process of their own:\n\t%s", strings.Join(cgo, "\n\t"))
	}
}

// TestTheAnalyticsEngineIsWhereCgoIs: the check above sees cgo where it is
// (DuckDB's driver, in the engine).
//
//ironstar:needs analytics
func TestTheAnalyticsEngineIsWhereCgoIs(t *testing.T) {
	t.Parallel()
	if cgo := cgoPackages(t, "./cmd/analytics"); !slices.ContainsFunc(cgo, func(p string) bool { return strings.Contains(p, "duckdb") }) {
		t.Errorf("cmd/analytics links no DuckDB cgo package; cgo packages: %v", cgo)
	}
}
