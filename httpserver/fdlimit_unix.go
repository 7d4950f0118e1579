//go:build unix

package httpserver

import "syscall"

// RaiseFDLimit raises the soft limit on open files to the hard limit and
// returns the new soft limit. The Go runtime does the same on start, but
// it is done here too so that the budget rests on a limit seen, not assumed.
func RaiseFDLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		// macOS refuses a soft limit above OPEN_MAX even when the hard limit
		// is "unlimited": then the current limit stands.
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			lim = raised
		}
	}
	return uint64(lim.Cur), nil
}
