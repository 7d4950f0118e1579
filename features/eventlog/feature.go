package eventlog

import (
	"context"

	"github.com/go-chi/chi/v5"

	"ironstar/features/feature"
)

// Feature is the event log: an operator feature, behind the operator gate.
func Feature() feature.Feature {
	return feature.Feature{
		Name:     "eventlog",
		Operator: true,
		Mount: func(_ context.Context, app *feature.App) (feature.Routes, error) {
			deps := Deps{Logger: app.Logger, Events: app.Events}
			return func(r chi.Router) { routes(r, deps) }, nil
		},
	}
}
