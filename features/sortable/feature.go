package sortable

import (
	"context"

	"github.com/go-chi/chi/v5"

	"ironstar/features/feature"
	"ironstar/web/icons"
)

// Feature is the sortable board: an order kept as events, shown by a web component.
func Feature() feature.Feature {
	return feature.Feature{
		Name:     "sortable",
		Nav:      &feature.Nav{Href: "/sortable", Label: "Sortable", Icon: icons.Sortable},
		Register: Register,
		Mount: func(ctx context.Context, app *feature.App) (feature.Routes, error) {
			view, _, err := feature.StartProjection(ctx, app, Projection(app.Registry))
			if err != nil {
				return nil, err
			}
			deps := Deps{Logger: app.Logger, Storage: app.Storage, View: view, Sessions: app.Sessions, Admission: app.Admission, Quota: app.Quota}
			return func(r chi.Router) { routes(r, deps) }, nil
		},
	}
}
