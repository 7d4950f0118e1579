package about

import (
	"context"

	"github.com/go-chi/chi/v5"

	"ironstar/features/feature"
	"ironstar/web/icons"
)

// Feature is the about page, with the greeting round trip.
func Feature() feature.Feature {
	return feature.Feature{
		Name: "about",
		Nav:  &feature.Nav{Href: "/about", Label: "About", Icon: icons.About},
		Mount: func(_ context.Context, app *feature.App) (feature.Routes, error) {
			return func(r chi.Router) { routes(r, Deps{Logger: app.Logger}) }, nil
		},
	}
}
