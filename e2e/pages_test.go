package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"ironstar/features"
	"ironstar/features/feature"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestEveryPageRendersCleanly visits every page of the main navigation (the
// feature list, package features: a new feature is visited here without a
// line of its own) at a desktop and a phone width, in light and dark: each
// renders a main heading and marks its own link current, with no console
// error, no request off 127.0.0.1, and nothing wider than the screen.
// E2E_SCREENSHOTS=dir saves all sixteen screenshots to look at. It runs
// alone (not in parallel): it makes many navigations, and on this 2-core
// machine they slowed to a stall when other browsers ran beside it.
func TestEveryPageRendersCleanly(t *testing.T) {
	a := startApp(t, appOptions{})
	b := newBrowser(t)
	var pages []*feature.Nav
	for _, f := range features.All() {
		if f.Nav != nil {
			pages = append(pages, f.Nav)
		}
	}
	if len(pages) == 0 {
		t.Fatal("no feature has a page")
	}
	sizes := []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"desktop", 1280, 900, false}, {"phone", 390, 844, true}}
	for _, scheme := range []string{"light", "dark"} {
		for _, size := range sizes {
			b.do(t,
				chromedp.EmulateViewport(size.width, size.height, func(p *emulation.SetDeviceMetricsOverrideParams, _ *emulation.SetTouchEmulationEnabledParams) {
					p.Mobile = size.mobile
				}),
				chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
					_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
						Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
					})
					return err
				}),
			)
			for _, nav := range pages {
				path := nav.Href
				ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
				err := chromedp.Do(ctx,
					chromedp.Navigate(a.URL+path),
					waitJS(fmt.Sprintf(`document.querySelector("h1")?.textContent.trim() !== "" && document.querySelector('nav a[aria-current="page"]')?.getAttribute("href") === %q`, path)),
				)
				cancel()
				if err != nil {
					pending, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`performance.getEntriesByType("resource").map(e => e.name + " " + Math.round(e.duration)).join("\n")`))
					t.Fatalf("%s at %s (%s): %v; resources:\n%s", path, size.name, scheme, err, pending)
				}
				if wide := eval[bool](t, b, fmt.Sprintf(`document.documentElement.scrollWidth > %d`, size.width)); wide {
					t.Errorf("%s at %s (%s) is wider than the screen", path, size.name, scheme)
				}
				b.screenshot(t, strings.ToLower(nav.Label)+"-"+size.name+"-"+scheme)
			}
		}
	}
	b.checkClean(t)
}
