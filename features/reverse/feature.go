package reverse

import (
	"context"

	"github.com/go-chi/chi/v5"

	"ironstar/features/feature"
	"ironstar/web/icons"
)

// Feature is the reverse page: a web component and signals, both ways.
func Feature() feature.Feature {
	return feature.Feature{
		Name: "reverse",
		Nav:  &feature.Nav{Href: "/reverse", Label: "Reverse", Icon: icons.Reverse},
		Mount: func(_ context.Context, app *feature.App) (feature.Routes, error) {
			return func(r chi.Router) { routes(r, Deps{Logger: app.Logger}) }, nil
		},
	}
}
