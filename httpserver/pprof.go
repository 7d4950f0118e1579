package httpserver

import (
	"expvar"
	"net/http"
	"net/http/pprof"
	"time"
)

// Profiler returns a server of Go's profiles (net/http/pprof) and of the
// process's published variables (expvar, /debug/vars: memory statistics,
// and what the composition root publishes, such as NATS message counts) on
// addr, for an operator to reach on a private interface: its handlers are
// mounted on their own mux, never on the app's router.
func Profiler(addr string) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/debug/vars", expvar.Handler())
	return &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}
