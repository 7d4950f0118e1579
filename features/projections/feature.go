// Package projections is the operator's view of the app's read models and
// reactors: where each stands, live, a rebuild button per projection, a
// retry button per event a reactor parked, and the leftovers of old
// generations and renamed projections. Its routes also serve the command
// line (bin/app projections, see cmd/app): status, leftovers and a retry's
// outcome as JSON, a rebuild's progress as one JSON line a second.
package projections

import (
	"context"

	"github.com/go-chi/chi/v5"

	"ironstar/features/feature"
)

// Feature is projection operations: an operator feature, behind the
// operator gate.
func Feature() feature.Feature {
	return feature.Feature{
		Name:     "projections",
		Operator: true,
		Mount: func(_ context.Context, app *feature.App) (feature.Routes, error) {
			// Asked at each sample, not now: features mounted after this
			// one start theirs later.
			s := &sampler{projections: app.Projections, reactors: app.Reactors, leftovers: app.Leftovers}
			deps := deps{logger: app.Logger, lifetime: app.Lifetime, cleanup: app.CleanUpLeftovers, sampler: s}
			return func(r chi.Router) { routes(r, deps) }, nil
		},
	}
}
