package e2e

// The tests run the binary that TestMain builds, so `go test` cannot see
// what they depend on. These imports make the test cache follow the app's
// code (the router imports every feature), so that a changed app is tested
// again rather than reported as "(cached)".
import (
	_ "ironstar/config"
	_ "ironstar/httpserver"
	_ "ironstar/router"
)
