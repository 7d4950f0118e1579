package doccheck

import (
	"testing"
)

const page = "See [the anatomy](02-anatomy.md#command) and [`features/todo`](../features/todo/domain.go),\n" +
	"`features/counter/feature.go`, `TestCounterMoves`, `go tool task bench:load`, `/health/ready`, `net/http`.\n" +
	"```sh\ngo tool task test\nls\n```\n" +
	"Plain go tool task ignored and [a site](https://example.com).\n"

func TestFindCitesLinksPathsTestsAndTasks(t *testing.T) {
	t.Parallel()
	var got []string
	for _, c := range Find(page) {
		got = append(got, []string{"link", "path", "test", "task"}[c.Kind]+" "+c.Target+" "+page[c.Start:c.End])
	}
	want := []string{
		"link 02-anatomy.md#command [the anatomy](02-anatomy.md#command)",
		"link ../features/todo/domain.go [`features/todo`](../features/todo/domain.go)",
		"path features/todo `features/todo`",
		"path features/counter/feature.go `features/counter/feature.go`",
		"test TestCounterMoves `TestCounterMoves`",
		"task bench:load `go tool task bench:load`",
		"task test go tool task test\n",
	}
	if len(got) != len(want) {
		t.Fatalf("Find = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("citation %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestUnciteTurnsMissingCitationsIntoPlainText(t *testing.T) {
	t.Parallel()
	missing := func(c Citation) bool {
		return c.Target == "../features/todo/domain.go" || c.Target == "features/todo" || c.Target == "TestCounterMoves" || c.Target == "test"
	}
	want := "See [the anatomy](02-anatomy.md#command) and features/todo,\n" +
		"`features/counter/feature.go`, TestCounterMoves, `go tool task bench:load`, `/health/ready`, `net/http`.\n" +
		"```sh\nls\n```\n" +
		"Plain go tool task ignored and [a site](https://example.com).\n"
	if got := Uncite(page, missing); got != want {
		t.Errorf("Uncite =\n%s\nwant\n%s", got, want)
	}
}

func TestBuildOutputsAreTheFoldersGitignoreListsAsBuilt(t *testing.T) {
	t.Parallel()
	gitignore := "# built\n/bin/\n/web/dist/\n.env\n/app\n"
	for path, want := range map[string]bool{
		"bin/app": true, "bin": true, "bin/": true, "web/dist/app.js": true,
		"binary/x": false, "web/libs/app.ts": false, ".env": false, "app": false,
	} {
		if got := BuildOutput(gitignore, path); got != want {
			t.Errorf("BuildOutput(%q) = %v, want %v", path, got, want)
		}
	}
}
