//go:build !dev

package config

// Dev is false in production builds, the default.
const Dev = false
