package counter

import (
	"context"

	"github.com/go-chi/chi/v5"

	"ironstar/features/feature"
	"ironstar/web/icons"
)

// Feature is the counters: yours and everyone's, as events.
func Feature() feature.Feature {
	return feature.Feature{
		Name:     "counter",
		Nav:      &feature.Nav{Href: "/counter", Label: "Counter", Icon: icons.Counter},
		Register: Register,
		// Its time travel shows a counter's state as JSON.
		History: []feature.History{feature.HistoryOf(aggregate, Decider(), nil)},
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
