package cluster_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"ironstar/internal/cluster"
)

// backend answers with its name and the body it got; /hold keeps the
// response open until release is closed, like an SSE stream.
func backend(t *testing.T, name string, release chan struct{}) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		io.WriteString(w, name+" "+r.Host+" "+string(body))
		if r.URL.Path == "/hold" {
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func host(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

func TestBalancerPrefersTheLeastBusyBackend(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	a, b := backend(t, "a", release), backend(t, "b", release)
	bal := cluster.NewBalancer([]string{host(a), host(b)}, slog.New(slog.DiscardHandler))
	lb := httptest.NewServer(bal)
	defer lb.Close()

	// A held response (a stream) makes a busier; the next request goes to b.
	res, err := http.Get(lb.URL + "/hold")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if got := res.Header.Get("X-Ironstar-Backend"); got != host(a) {
		t.Fatalf("first request went to %s, want a", got)
	}
	if active := bal.Active(); active[host(a)] != 1 || active[host(b)] != 0 {
		t.Errorf("active = %v, want a:1 b:0", active)
	}
	res2, err := http.Post(lb.URL+"/cmd", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res2.Body)
	res2.Body.Close()
	// The backend sees the balancer's host (the app checks Origin against it).
	if want := "b " + host(lb) + " hello"; string(body) != want {
		t.Errorf("body = %q, want %q", body, want)
	}
}

func TestBalancerSendsARefusedRequestToTheNextBackend(t *testing.T) {
	live := backend(t, "live", nil)
	// A port nobody listens on: the connection is refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	bal := cluster.NewBalancer([]string{dead, host(live)}, slog.New(slog.DiscardHandler))
	lb := httptest.NewServer(bal)
	defer lb.Close()
	for range 3 {
		res, err := http.Post(lb.URL+"/cmd", "text/plain", strings.NewReader("again"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "live ") || !strings.HasSuffix(string(body), " again") {
			t.Errorf("answer %d %q, want live's, with the body", res.StatusCode, body)
		}
	}

	// With no backend up: 502, not a hang.
	live.Close()
	res, err := http.Get(lb.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway {
		t.Errorf("status = %d with every backend down, want 502", res.StatusCode)
	}
}
