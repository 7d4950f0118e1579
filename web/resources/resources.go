// Package resources serves the static files under web/resources/static: the
// committed ones (favicon) and those cmd/build generates into static/dist
// (the Datastar client, bundled TypeScript and CSS).
//
// Production builds embed the files and serve each under a content-hashed
// name with an immutable cache header; dev builds (-tags dev) read them from
// disk on every request with no-store, so a rebuild shows at once. Views ask
// URL for the address of a file and never spell it out.
package resources

// Prefix is the path the static handler is mounted under.
const Prefix = "/static/"
