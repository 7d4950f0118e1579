package analytics

import (
	"context"

	"github.com/go-chi/chi/v5"

	"ironstar/features/feature"
	"ironstar/web/icons"
)

// Feature is the analytics dashboard: the page that shows what the
// analytics engine (package engine, its own process) publishes.
func Feature() feature.Feature {
	return feature.Feature{
		Name: "analytics",
		Nav:  &feature.Nav{Href: "/analytics", Label: "Analytics", Icon: icons.Charts},
		Mount: func(_ context.Context, app *feature.App) (feature.Routes, error) {
			deps := Deps{Logger: app.Logger, Sessions: app.Sessions, Engine: newEngineWatch(app)}
			return func(r chi.Router) { routes(r, deps) }, nil
		},
	}
}
