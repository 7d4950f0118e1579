//go:build !linux

package cluster

import "os/exec"

// DieWithParent does nothing outside Linux: stop the demo with Ctrl-C.
func DieWithParent(*exec.Cmd) {}
