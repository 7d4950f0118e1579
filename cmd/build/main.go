// Command build produces the front-end assets in web/resources/static/dist:
// it bundles web/libs (TypeScript) and web/styles (CSS on Open Props) with
// esbuild's Go API, and copies the Datastar client from the Go module pinned
// in go.mod. With -watch it rebuilds on every change until interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/evanw/esbuild/pkg/api"

	"ironstar/web/icons"
)

const outDir = "web/resources/static/dist"

// entryPoints are the bundles: dist/app.js and dist/app.css, which the
// layout links, and dist/charts.js.
var entryPoints = []api.EntryPoint{
	{InputPath: "web/libs/app.ts", OutputPath: "app"},
	{InputPath: "web/styles/app.css", OutputPath: "app"},
	// Only the analytics page loads the charts.
	//ironstar:needs analytics
	{InputPath: "web/libs/charts.ts", OutputPath: "charts"},
}

func main() {
	watch := flag.Bool("watch", false, "rebuild on change (dev): no minification, inline source maps")
	update := flag.String("datastar", "", "pin this version of the Datastar client (e.g. v1.0.2) in cmd/build/datastar.go, then build")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *update != "" {
		if err := updateDatastar(ctx, *update, "cmd/build/datastar.go"); err != nil {
			logger.Error("datastar update failed", "err", err)
			os.Exit(1)
		}
		logger.Info("pinned the Datastar client; rebuild with go run ./cmd/build (the pinned hash is checked from now on)", "version", *update)
		return
	}
	if err := run(ctx, *watch, logger); err != nil {
		logger.Error("build failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, watch bool, logger *slog.Logger) error {
	if err := os.RemoveAll(outDir); err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	if err := copyDatastar(ctx, watch); err != nil {
		return err
	}
	if err := copyIcons(); err != nil {
		return err
	}

	opts := api.BuildOptions{
		EntryPointsAdvanced: entryPoints,
		Outdir:              outDir,
		Bundle:              true,
		Format:              api.FormatESModule,
		Target:              api.ES2023,
		Write:               true,
		// TypeScript can import a Lucide icon as its SVG text.
		Loader:   map[string]api.Loader{".svg": api.LoaderText},
		LogLevel: api.LogLevelWarning,
	}
	if watch {
		opts.Sourcemap = api.SourceMapInline
		opts.Plugins = []api.Plugin{reportRebuilds(logger)}
		build, ctxErr := api.Context(opts)
		if ctxErr != nil {
			return fmt.Errorf("esbuild: %v", ctxErr.Errors)
		}
		defer build.Dispose()
		if err := build.Watch(api.WatchOptions{}); err != nil {
			return err
		}
		logger.Info("watching web/libs and web/styles")
		<-ctx.Done()
		return nil
	}

	// No source maps: production serves what it runs, not the source.
	opts.MinifyWhitespace, opts.MinifyIdentifiers, opts.MinifySyntax = true, true, true
	result := api.Build(opts)
	if len(result.Errors) > 0 {
		return fmt.Errorf("esbuild: %s", formatMessages(result.Errors))
	}
	for _, f := range result.OutputFiles {
		logger.Info("built", "file", filepath.Join(outDir, filepath.Base(f.Path)), "bytes", len(f.Contents))
	}
	return nil
}

// copyIcons copies the icons package icons names out of lucide-static.
func copyIcons() error {
	dir := filepath.Join(outDir, "icons")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range icons.All() {
		data, err := os.ReadFile(filepath.Join("node_modules", "lucide-static", "icons", name+".svg"))
		if err != nil {
			return fmt.Errorf("icon %q: %w (is it a Lucide name? run npm ci)", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".svg"), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// reportRebuilds logs the outcome of every watch-mode rebuild.
func reportRebuilds(logger *slog.Logger) api.Plugin {
	return api.Plugin{
		Name: "report",
		Setup: func(b api.PluginBuild) {
			b.OnEnd(func(result *api.BuildResult) (api.OnEndResult, error) {
				if len(result.Errors) > 0 {
					logger.Error("rebuild failed", "errors", formatMessages(result.Errors))
				} else {
					logger.Info("rebuilt assets")
				}
				return api.OnEndResult{}, nil
			})
		},
	}
}

func formatMessages(msgs []api.Message) string {
	lines := api.FormatMessages(msgs, api.FormatMessagesOptions{Kind: api.ErrorMessage})
	return strings.Join(lines, "\n")
}
