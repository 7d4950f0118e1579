// Package feature is how a feature slice plugs into the app. Each feature
// hands the composition root one Feature value, and one list of them
// (package features) is the app: its navigation, its event types, its read
// models and its routes all come from that list, so a page cannot be
// forgotten in one place while added in another. No init() registration:
// the list is plain code.
package feature

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/nats-io/nats.go/jetstream"

	"ironstar/command"
	"ironstar/es"
	"ironstar/features/common/layouts"
	"ironstar/features/health"
	"ironstar/nats/eventstore"
	"ironstar/nats/projection"
	"ironstar/nats/reactor"
	"ironstar/session"
)

// Feature is one slice of the app as the composition root sees it.
type Feature struct {
	// Name names it in logs and errors.
	Name string
	// Nav is its entry in the main navigation; nil for none.
	Nav *Nav
	// Operator says its routes are operator routes: they show every
	// session's data or run the app's machinery, so the router puts them
	// behind the operator gate (package operator), or leaves them out
	// where operator routes do not exist. Such a feature has no Nav: the
	// operator pages link each other (operator.Nav).
	Operator bool
	// Register adds its event types to the app's registry; nil for none.
	Register func(*es.Registry)
	// History teaches the time-travel page its aggregate types (see
	// HistoryOf); an aggregate type not listed has no history page.
	History []History
	// Mount starts what it runs in this process (its read models, most
	// often) with the app's shared parts, and returns its routes. What it
	// starts it stops through App.OnClose.
	Mount func(ctx context.Context, app *App) (Routes, error)
}

// Routes mount a feature's handlers.
type Routes func(chi.Router)

// Nav is an entry of the main navigation, as the layout draws it: Href is
// the page's path, Label its link text, Icon a web/icons name.
type Nav = layouts.NavLink

// App is what the composition root shares with every feature.
type App struct {
	Logger *slog.Logger
	// Lifetime ends when shutdown begins; views and streams watch it.
	Lifetime context.Context
	// DataDir is the directory a feature may keep files in.
	DataDir string
	// JS is the JetStream the read models live in.
	JS jetstream.JetStream
	// Events is the event store; Storage is what command handlers store
	// through (snapshots and the aggregate cache included); Registry
	// decodes events.
	Events   *eventstore.Store
	Storage  es.Storage
	Registry *es.Registry
	// Sessions, Admission and Quota guard commands (see command.Guarded).
	Sessions  *session.Store
	Admission *command.Admission
	Quota     *command.Quota
	// Projection are the options every read model's runner starts with.
	Projection projection.Options
	// History is every feature's Feature.History, for the time-travel
	// page.
	History []History

	mu          sync.Mutex
	closers     []func(context.Context)
	checks      []health.Check
	projections []projection.Reporter
	reactors    []reactor.Reporter
}

// OnClose registers f to run when the app stops, with a context that
// bounds it; closers run together, after the HTTP server has stopped.
func (a *App) OnClose(f func(context.Context)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closers = append(a.closers, f)
}

// Close runs every closer at once and waits for them, at most timeout.
func (a *App) Close(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	a.mu.Lock()
	closers := a.closers
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range closers {
		wg.Go(func() { f(ctx) })
	}
	wg.Wait()
}

// Checks are the readiness checks the features' read models added.
func (a *App) Checks() []health.Check {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]health.Check(nil), a.checks...)
}

// Projections are the read models the features started, for the app's
// metrics.
func (a *App) Projections() []projection.Reporter {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]projection.Reporter(nil), a.projections...)
}

// Leftovers lists what old generations of the app's projections, and
// projections it no longer has, left in JetStream (projection.Leftovers).
func (a *App) Leftovers(ctx context.Context) ([]projection.Leftover, error) {
	return projection.Leftovers(ctx, a.JS, a.projectionNames())
}

// CleanUpLeftovers deletes what Leftovers lists (projection.Cleanup) and
// returns what it deleted.
func (a *App) CleanUpLeftovers(ctx context.Context) ([]projection.Leftover, error) {
	return projection.Cleanup(ctx, a.JS, a.projectionNames())
}

// projectionNames are the names of the projections the features started.
func (a *App) projectionNames() []string {
	var names []string
	for _, p := range a.Projections() {
		names = append(names, p.Name())
	}
	return names
}

// Reactors are the reactors the features started, for the operator's
// status view.
func (a *App) Reactors() []reactor.Reporter {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]reactor.Reporter(nil), a.reactors...)
}

// StartProjection runs p in this process, stopped with the app, adds its
// health to readiness, and opens its view. A parked event only degrades
// readiness: it is one key's problem; every other key, and every page,
// still works (see health.Check).
func StartProjection[V any](ctx context.Context, app *App, p projection.Projection[V]) (*projection.View[V], *projection.Runner[V], error) {
	runner, err := projection.Start(ctx, app.JS, p, app.Projection)
	if err != nil {
		return nil, nil, err
	}
	app.OnClose(func(ctx context.Context) { runner.Stop(ctx) })
	app.mu.Lock()
	app.checks = append(app.checks, health.Check{Name: "projection:" + p.Name, Check: runner.Health, Degrades: true})
	app.projections = append(app.projections, runner)
	app.mu.Unlock()
	view, err := projection.OpenView[V](app.Lifetime, app.JS, p.Name)
	return view, runner, err
}

// StartReactor runs r in this process, stopped with the app, with the
// read models' replicas and logger, and adds its health to readiness: a
// parked event degrades it, as a projection's does (the other events'
// effects still happen).
func StartReactor(ctx context.Context, app *App, r reactor.Reactor) (*reactor.Runner, error) {
	runner, err := reactor.Start(ctx, app.JS, r, reactor.Options{Replicas: app.Projection.Replicas, Logger: app.Logger})
	if err != nil {
		return nil, err
	}
	app.OnClose(func(ctx context.Context) { runner.Stop(ctx) })
	app.mu.Lock()
	app.checks = append(app.checks, health.Check{Name: "reactor:" + r.Name, Check: runner.Health, Degrades: true})
	app.reactors = append(app.reactors, runner)
	app.mu.Unlock()
	return runner, nil
}

// Stateless is a feature with no events and no read model: a page (and
// maybe a stream) whose routes need only the logger.
func Stateless(name string, nav *Nav, routes func(r chi.Router, logger *slog.Logger)) Feature {
	return Feature{
		Name: name,
		Nav:  nav,
		Mount: func(_ context.Context, app *App) (Routes, error) {
			return func(r chi.Router) { routes(r, app.Logger) }, nil
		},
	}
}
