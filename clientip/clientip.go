// Package clientip says which client a request comes from: the peer's
// address, or, when the peer is a proxy we trust, the address that proxy
// reports in X-Forwarded-For. Per-client limits key on it, and the session
// cookie believes X-Forwarded-Proto only from the same trusted proxies.
package clientip

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds a request's client address. Its zero value trusts no
// proxy: the peer is the client.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a resolver that believes the forwarding headers of peers in
// trusted (TRUSTED_PROXIES) and of no one else.
func New(trusted []netip.Prefix) Resolver {
	return Resolver{trusted: trusted}
}

// trusts reports whether addr (unmapped) is one of the trusted proxies.
func (res Resolver) trusts(addr netip.Addr) bool {
	for _, p := range res.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// FromTrustedProxy reports whether the request's peer is a trusted proxy,
// whose X-Forwarded-* headers may be believed. Anyone else could write
// them, so from other peers they mean nothing.
func (res Resolver) FromTrustedProxy(r *http.Request) bool {
	addr, ok := peer(r)
	return ok && res.trusts(addr)
}

// HTTPS reports whether the browser reached us over HTTPS: directly, or
// through a trusted proxy that says so in X-Forwarded-Proto. Anyone else
// could claim it, so from other peers the header is ignored. Cookies are
// Secure when it holds.
func (res Resolver) HTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	proto := r.Header.Get("X-Forwarded-Proto")
	if proto == "" || !res.FromTrustedProxy(r) {
		return false
	}
	// A chain of proxies may list several: the first is the one the
	// browser spoke to.
	first, _, _ := strings.Cut(proto, ",")
	return strings.EqualFold(strings.TrimSpace(first), "https")
}

// peer is the address of the request's TCP peer, if RemoteAddr holds one.
func peer(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// Addr is the request's client address: the peer, or, when the peer is a
// trusted proxy, the right-most X-Forwarded-For address that is not itself
// a trusted proxy. Right-most, because each proxy appends the address it
// saw: the entries left of the last one we trust were written by the
// client and prove nothing. When every entry is trusted the left-most is
// the client; an entry that is not an address ends the walk at the last
// trusted one (a proxy that wrote it is misconfigured, and a guess would
// let a client choose its key). ok is false when RemoteAddr is not an
// address (not a TCP connection).
func (res Resolver) Addr(r *http.Request) (addr netip.Addr, ok bool) {
	addr, ok = peer(r)
	if !ok || !res.trusts(addr) {
		return addr, ok
	}
	hops := forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(hops[i])
		if !ok {
			return addr, true
		}
		addr = hop
		if !res.trusts(hop) {
			return addr, true
		}
	}
	return addr, true
}

// forwardedFor is every X-Forwarded-For entry, in order: a proxy may add a
// header line of its own rather than append to the last.
func forwardedFor(h http.Header) []string {
	var hops []string
	for _, line := range h.Values("X-Forwarded-For") {
		for field := range strings.SplitSeq(line, ",") {
			hops = append(hops, strings.TrimSpace(field))
		}
	}
	return hops
}

// parseHop reads one X-Forwarded-For entry: an address, perhaps with a
// port, IPv6 perhaps in brackets.
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// Key is the key per-client limits count addr under: an IPv4 address as
// it is, an IPv6 address by its /64, since one host (or one home) is
// usually given a whole /64 and could otherwise take a new address for
// every request.
func Key(addr netip.Addr) string {
	addr = addr.Unmap()
	if addr.Is6() {
		return netip.PrefixFrom(addr.WithZone(""), 64).Masked().String()
	}
	return addr.String()
}

// Key is the request's client key, or "" when it has no address (then
// per-client limits do not apply to it).
func (res Resolver) Key(r *http.Request) string {
	addr, ok := res.Addr(r)
	if !ok {
		return ""
	}
	return Key(addr)
}

type contextKey struct{}

// Middleware resolves each request's client key once and puts it in the
// request's context for FromContext.
func (res Resolver) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), contextKey{}, res.Key(r))))
	})
}

// FromContext is the client key Middleware found, or "" when none ran or
// the request had no address.
func FromContext(ctx context.Context) string {
	key, _ := ctx.Value(contextKey{}).(string)
	return key
}

// FromRequest is FromContext of the request's context, in the shape the
// stream limiter's keys take.
func FromRequest(r *http.Request) string {
	return FromContext(r.Context())
}
