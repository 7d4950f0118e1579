package components

import (
	"context"
	"strings"
	"testing"
)

func render(t *testing.T, name string) string {
	t.Helper()
	var b strings.Builder
	if err := Greeting(name).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestGreetingEscapesTheName(t *testing.T) {
	t.Parallel()
	html := render(t, `<img src=x onerror=alert(1)>`)
	if strings.Contains(html, "<img") {
		t.Errorf("markup in the name was not escaped:\n%s", html)
	}
	if !strings.Contains(html, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("escaped name missing:\n%s", html)
	}
	if !strings.HasPrefix(html, `<output id="greeting"`) {
		t.Errorf("the patch target id is not the root:\n%s", html)
	}
}

func TestGreetingWithoutANameAsksForOne(t *testing.T) {
	t.Parallel()
	if html := render(t, ""); !strings.Contains(html, "Type a name") {
		t.Errorf("empty name:\n%s", html)
	}
}
