package history

import (
	"context"

	"github.com/go-chi/chi/v5"

	"ironstar/features/feature"
)

// Feature is time travel: an operator feature, behind the operator gate.
func Feature() feature.Feature {
	return feature.Feature{
		Name:     "history",
		Operator: true,
		Mount: func(_ context.Context, app *feature.App) (feature.Routes, error) {
			deps := Deps{Logger: app.Logger, Events: app.Events, Registry: app.Registry, Histories: app.History}
			return func(r chi.Router) { routes(r, deps) }, nil
		},
	}
}
