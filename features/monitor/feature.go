package monitor

import (
	"context"

	"github.com/go-chi/chi/v5"

	"ironstar/features/feature"
	"ironstar/web/icons"
)

// Feature is the monitor page: the host's load, sampled while a page is open.
func Feature() feature.Feature {
	return feature.Feature{
		Name: "monitor",
		Nav:  &feature.Nav{Href: "/monitor", Label: "Monitor", Icon: icons.Monitor},
		Mount: func(_ context.Context, app *feature.App) (feature.Routes, error) {
			return func(r chi.Router) { routes(r, Deps{Logger: app.Logger}) }, nil
		},
	}
}
