package todo

import (
	"context"

	"github.com/go-chi/chi/v5"

	"ironstar/features/feature"
	"ironstar/web/icons"
)

// Feature is TodoMVC on events: the home page.
func Feature() feature.Feature {
	return feature.Feature{
		Name:     "todo",
		Nav:      &feature.Nav{Href: "/", Label: "Todos", Icon: icons.Todos},
		Register: Register,
		History:  []feature.History{feature.HistoryOf(Aggregate, Decider(), historyView)},
		Mount: func(ctx context.Context, app *feature.App) (feature.Routes, error) {
			view, runner, err := feature.StartProjection(ctx, app, Projection(app.Registry))
			if err != nil {
				return nil, err
			}
			lists := NewLists(app.Storage)
			if _, err := feature.StartReactor(ctx, app, ListCompletion(lists)); err != nil {
				return nil, err
			}
			deps := Deps{Logger: app.Logger, Lists: lists, View: view, CatchingUp: runner.CatchingUp,
				Sessions: app.Sessions, Admission: app.Admission, Quota: app.Quota}
			return func(r chi.Router) { routes(r, deps) }, nil
		},
	}
}
