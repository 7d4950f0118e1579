//go:build dev

package config

// Dev is true in development builds (go build -tags dev), as run by air.
const Dev = true
