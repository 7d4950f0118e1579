//go:build datastarpin

package main

// This file is never built: only `go mod tidy`, which reads every build tag,
// sees it. It keeps github.com/starfederation/datastar (whose module carries
// the browser bundle cmd/build copies) in go.mod and go.sum.
import _ "github.com/starfederation/datastar/sdk/go/datastar"
