package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestEveryPageRendersCleanly visits every page at a desktop and a phone
// width, in light and dark: each renders its main heading, with no console
// error, no request off 127.0.0.1, and nothing wider than the screen.
// E2E_SCREENSHOTS=dir saves all sixteen screenshots to look at.
func TestEveryPageRendersCleanly(t *testing.T) {
	t.Parallel()
	a := startApp(t, appOptions{})
	b := newBrowser(t)
	pages := map[string]string{"/": "todos", "/counter": "Counters", "/monitor": "Monitor", "/sortable": "Sortable", "/reverse": "Reverse", "/about": "Ironstar"}
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
			for path, heading := range pages {
				b.do(t,
					chromedp.Navigate(a.URL+path),
					waitJS(fmt.Sprintf(`document.querySelector("h1")?.textContent === %q`, heading)),
				)
				if wide := eval[bool](t, b, fmt.Sprintf(`document.documentElement.scrollWidth > %d`, size.width)); wide {
					t.Errorf("%s at %s (%s) is wider than the screen", path, size.name, scheme)
				}
				name := strings.Trim(strings.ReplaceAll(path, "/", ""), "") + "-" + size.name + "-" + scheme
				if path == "/" {
					name = "todos-" + size.name + "-" + scheme
				}
				b.screenshot(t, name)
			}
		}
	}
	b.checkClean(t)
}
