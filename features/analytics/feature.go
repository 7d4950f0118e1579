package analytics

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/go-chi/chi/v5"

	"ironstar/features/feature"
	"ironstar/web/icons"
)

// Feature is the analytics dashboard: DuckDB's copy of every event, and
// the charts it feeds.
func Feature() feature.Feature {
	return feature.Feature{
		Name: "analytics",
		Nav:  &feature.Nav{Href: "/analytics", Label: "Analytics", Icon: icons.Charts},
		Mount: func(ctx context.Context, app *feature.App) (feature.Routes, error) {
			olap, err := Open(ctx, filepath.Join(app.DataDir, "analytics.duckdb"))
			if err != nil {
				return nil, err
			}
			refresher := NewRefresher(olap, app.Logger)
			stop := run(Copier{Store: olap, Events: app.Events, Changed: refresher.Notify, Logger: app.Logger})
			app.OnClose(func(ctx context.Context) {
				stop(ctx, app.Logger)
				olap.Close()
			})
			deps := Deps{Logger: app.Logger, Refresher: refresher, Sessions: app.Sessions}
			return func(r chi.Router) { routes(r, deps) }, nil
		},
	}
}

// run runs p until the returned stop is called; stop waits for it until
// its context ends, and then leaves it to finish on its own (it resumes
// from its checkpoint next time).
func run(p Copier) (stop func(context.Context, *slog.Logger)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	return func(wait context.Context, logger *slog.Logger) {
		cancel()
		select {
		case <-done:
		case <-wait.Done():
			logger.Warn("analytics projection still running at exit; it resumes from its checkpoint next time")
		}
	}
}
