// Command devloop measures the dev loop: how long from saving an edit to
// the open page having reloaded with it, under go tool task live. It makes
// real edits to the about page (its title in the handler, a heading in the
// templ file), each time waiting for a Chromium tab on the page to reload
// and show it, then puts the file back. Run it from the repository's root
// beside a running go tool task live:
//
//	PORT=8095 go tool task live &
//	go run ./bench/devloop -url http://127.0.0.1:8095 -rounds 4
//
// It is a measuring tool, not a test: it prints each edit's time.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// edit is one change to a file and what the reloaded page shows for it
// (%d is the round).
type edit struct {
	file, from, to, shows string
}

var edits = []edit{
	{"features/about/handlers.go", `Title: "About"`, `Title: "About %d"`, `document.title.startsWith("About %d ")`},
	{"features/about/pages/about.templ", `<h2>The stack</h2>`, `<h2>The stack %d</h2>`, `document.body.innerText.includes("The stack %d")`},
}

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "the app under go tool task live")
	rounds := flag.Int("rounds", 4, "edits of each file")
	settle := flag.Duration("settle", 8*time.Second, "wait after putting a file back, for that rebuild to pass")
	flag.Parse()
	if err := run(*base, *rounds, *settle); err != nil {
		fmt.Fprintln(os.Stderr, "devloop:", err)
		os.Exit(1)
	}
}

func run(base string, rounds int, settle time.Duration) error {
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if r, err := http.Get(base + "/about"); err == nil && r.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/about does not answer", base)
		}
		time.Sleep(200 * time.Millisecond)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.NoSandbox, chromedp.DisableGPU)
	if path := os.Getenv("CHROMIUM"); path != "" {
		opts = append(opts, chromedp.ExecPath(path))
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(base+"/about")); err != nil {
		return err
	}
	for round := 1; round <= rounds; round++ {
		for _, e := range edits {
			took, err := measure(ctx, e, round)
			if err != nil {
				return err
			}
			fmt.Printf("%s round %d: %.2f s\n", e.file, round, took.Seconds())
			time.Sleep(settle)
		}
	}
	return nil
}

// measure makes one edit, waits for the page to reload with it, and puts
// the file back.
func measure(ctx context.Context, e edit, round int) (time.Duration, error) {
	orig, err := os.ReadFile(e.file)
	if err != nil {
		return 0, err
	}
	defer os.WriteFile(e.file, orig, 0o644)
	// A mark the reload wipes.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.devloopMark = 1`)); err != nil {
		return 0, err
	}
	reloaded := fmt.Sprintf(`!window.devloopMark && document.readyState === "complete" && %s`, fmt.Sprintf(e.shows, round))
	start := time.Now()
	if err := os.WriteFile(e.file, []byte(strings.Replace(string(orig), e.from, fmt.Sprintf(e.to, round), 1)), 0o644); err != nil {
		return 0, err
	}
	for time.Since(start) < time.Minute {
		if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](reloaded)); ok {
			return time.Since(start), nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return 0, fmt.Errorf("the page did not reload with the edit of %s", e.file)
}
