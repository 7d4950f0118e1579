//go:build !unix

package httpserver

// RaiseFDLimit has no limit to raise outside Unix; 0 makes NewBudget use
// fixed defaults.
func RaiseFDLimit() (uint64, error) { return 0, nil }
