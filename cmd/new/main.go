//ironstar:needs template

// Command new starts your own app from this template: it writes a new
// repository with your module path and product name, the example features
// you choose, and a fresh git history.
//
//	go run ./cmd/new -module example.com/acme/shop -name Shop -dir ../shop -examples todo
//
// It copies the files git tracks here (so build outputs and node_modules
// stay behind), then:
//
//   - leaves out the examples not chosen: their folder under features/, and
//     everything marked as needing them with an ironstar:needs directive
//     (see directives.go), plus the lines that merely list them (the feature
//     list, the signals generator);
//   - rewrites the module path in every import and the product name wherever
//     it is shown or names something (page titles, README, Taskfile, flake,
//     headers, cookies), keeping LICENSE as it is: the template's MIT notice
//     travels with the code;
//   - turns citations in the docs of what was left out into plain text, so
//     the docs test still holds;
//   - regenerates what depends on the feature list (web/libs/signals.gen.ts),
//     tidies go.mod, and commits the result as the first commit.
//
// The new app builds, vets and passes go tool task test as written
// (TestEveryVariantBuildsAndVets checks each choice of examples; CI runs the
// whole suite of one).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
)

func main() {
	var o options
	flag.StringVar(&o.Module, "module", "", "module path of the new app, e.g. example.com/acme/shop (required)")
	flag.StringVar(&o.Name, "name", "", "product name, one word of letters and digits, e.g. Shop; it titles the pages and names cookies, headers and the NATS server (required)")
	flag.StringVar(&o.Dir, "dir", "", "where to write the new repository; must not exist or be empty (required)")
	flag.StringVar(&o.Examples, "examples", "all", "example features to keep: all, none, or a comma-separated list of them (run with -examples help to list them)")
	flag.BoolVar(&o.Git, "git", true, "start a git history with one commit in the new repository")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: go run ./cmd/new -module PATH -name NAME -dir DIR [-examples all|none|LIST] [-git=false]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 || o.Module == "" || o.Name == "" || o.Dir == "" {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root, err := repositoryRoot(ctx)
	if err == nil {
		err = create(ctx, root, o, func(step string) { fmt.Fprintln(os.Stderr, "new:", step) })
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "new:", err)
		os.Exit(1)
	}
	fmt.Printf("%s is in %s. Next: cd %s && go tool task run (or go tool task test)\n", o.Name, o.Dir, o.Dir)
}

// repositoryRoot is the template's working tree, wherever in it new runs.
func repositoryRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("run me inside the template's git repository: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
