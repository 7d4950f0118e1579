package clientip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestAddrBelievesForwardedForOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	res := New([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")})
	cases := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"a direct client is its peer", "203.0.113.7:5000", nil, "203.0.113.7"},
		{"a spoofed header from an untrusted peer is ignored", "203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"a trusted proxy's right-most entry is the client", "10.0.0.2:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"entries the client wrote left of the proxy's are ignored", "10.0.0.2:80", []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, "198.51.100.1"},
		{"trusted hops are skipped", "10.0.0.2:80", []string{"1.1.1.1, 198.51.100.1, 10.0.0.9"}, "198.51.100.1"},
		{"several header lines are one list", "10.0.0.2:80", []string{"1.1.1.1", "198.51.100.1, 10.0.0.9"}, "198.51.100.1"},
		{"all hops trusted: the left-most", "10.0.0.2:80", []string{"10.1.1.1, 10.0.0.9"}, "10.1.1.1"},
		{"no header: the proxy itself", "10.0.0.2:80", nil, "10.0.0.2"},
		{"garbage stops at the last trusted hop", "10.0.0.2:80", []string{"198.51.100.1, nonsense"}, "10.0.0.2"},
		{"an entry with a port", "10.0.0.2:80", []string{"198.51.100.1:4711"}, "198.51.100.1"},
		{"an IPv6 entry in brackets", "[fd00::1]:80", []string{"[2001:db8::1]:4711"}, "2001:db8::1"},
		{"an IPv4-mapped peer is IPv4", "[::ffff:203.0.113.7]:5000", nil, "203.0.113.7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = c.remote
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got, ok := res.Addr(r)
			if !ok || got.String() != c.want {
				t.Errorf("Addr(%s, X-Forwarded-For %q) = %s, %v; want %s", c.remote, c.xff, got, ok, c.want)
			}
		})
	}
}

func TestNoTrustedProxiesMeansThePeer(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:5000"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	if got := New(nil).Key(r); got != "127.0.0.1" {
		t.Errorf("Key = %q; want the peer 127.0.0.1", got)
	}
	if New(nil).FromTrustedProxy(r) {
		t.Error("a resolver trusting no one trusted the peer")
	}
	r.RemoteAddr = "not an address"
	if got := New(nil).Key(r); got != "" {
		t.Errorf("Key without a TCP peer = %q; want none", got)
	}
}

func TestKeyGroupsIPv6ByItsSlash64(t *testing.T) {
	t.Parallel()
	a, b := Key(netip.MustParseAddr("2001:db8:1:2:aaaa::1")), Key(netip.MustParseAddr("2001:db8:1:2:ffff:1:2:3"))
	if a != b || a != "2001:db8:1:2::/64" {
		t.Errorf("two addresses of one /64 keyed %q and %q; want both 2001:db8:1:2::/64", a, b)
	}
	if other := Key(netip.MustParseAddr("2001:db8:1:3::1")); other == a {
		t.Errorf("another /64 shares the key %q", other)
	}
	if z := Key(netip.MustParseAddr("fe80::1%eth0")); z != "fe80::/64" {
		t.Errorf("a zoned address keyed %q; want fe80::/64", z)
	}
	if v4 := Key(netip.MustParseAddr("::ffff:192.0.2.1")); v4 != "192.0.2.1" {
		t.Errorf("an IPv4-mapped address keyed %q; want 192.0.2.1", v4)
	}
}

func TestMiddlewarePutsTheKeyInTheContext(t *testing.T) {
	t.Parallel()
	var got string
	h := New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}).Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got = FromRequest(r)
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:1234"
	r.Header.Set("X-Forwarded-For", "2001:db8::7")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != "2001:db8::/64" {
		t.Errorf("key in context = %q; want 2001:db8::/64", got)
	}
}
