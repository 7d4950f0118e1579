package config

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"ironstar/logging"
)

func lookup(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Parse(lookup(nil))
	if err != nil {
		t.Fatalf("Parse(empty env): %v", err)
	}
	want := Config{Host: DefaultHost, Port: DefaultPort, DataDir: DefaultDataDir, LogLevel: slog.LevelInfo, LogFormat: logging.Text, Replicas: 1, SessionTTL: DefaultSessionTTL, Heartbeat: DefaultHeartbeat, LogAllRequests: Dev, SnapshotEvery: DefaultSnapshotEvery, AggregateCache: DefaultAggregateCache, Dev: Dev,
		HTTP: HTTPLimits{MaxStreamsPerSession: DefaultMaxStreamsPerSession, IdleTimeout: DefaultIdleTimeout, BodyTimeout: DefaultBodyTimeout},
		Quotas: Quotas{EventsMaxBytes: DefaultEventsMaxBytes, EventsWarnPercent: DefaultEventsWarnPercent,
			SessionWriteRate: DefaultSessionWriteRate, SessionWriteBurst: DefaultSessionWriteBurst, SessionWriteBytes: DefaultSessionWriteBytes,
			ClientWriteRate: DefaultClientWriteRate, ClientWriteBurst: DefaultClientWriteBurst, ClientWriteBytes: DefaultClientWriteBytes},
		Admission: Admission{MaxInFlight: DefaultCommandsInFlightPerCPU * runtime.GOMAXPROCS(0),
			MaxQueued: DefaultCommandsQueuedPerInFlight * DefaultCommandsInFlightPerCPU * runtime.GOMAXPROCS(0), QueueTimeout: DefaultCommandQueueTimeout}}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Parse(empty env) = %+v, want %+v", cfg, want)
	}
	if !cfg.Embedded() {
		t.Error("Embedded() = false without NATS_URL")
	}
	if got := cfg.Addr(); got != "localhost:8080" {
		t.Errorf("Addr() = %q", got)
	}
}

func TestParseValues(t *testing.T) {
	t.Parallel()
	cfg, err := Parse(lookup(map[string]string{
		"HOST": "127.0.0.1", "PORT": "0", "DATA_DIR": "/tmp/x", "LOG_LEVEL": "DEBUG", "LOG_FORMAT": "json",
		"NATS_URL": "nats://a:4222, nats://b:4222", "SNAPSHOT_EVERY": "25", "SHUTDOWN_DELAY": "5s",
	}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if cfg.Port != 0 || cfg.Host != "127.0.0.1" || cfg.DataDir != "/tmp/x" || cfg.LogLevel != slog.LevelDebug || cfg.LogFormat != logging.JSON || cfg.ShutdownDelay != 5*time.Second || cfg.SnapshotEvery != 25 {
		t.Errorf("Parse = %+v", cfg)
	}
	if cfg.Embedded() {
		t.Error("Embedded() = true with NATS_URL set")
	}
}

func TestParseRejectsBadValuesNamingTheVariable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"port is not a number", map[string]string{"PORT": "http"}, `PORT="http"`},
		{"port is out of range", map[string]string{"PORT": "70000"}, `PORT="70000"`},
		{"log level is unknown", map[string]string{"LOG_LEVEL": "loud"}, `LOG_LEVEL="loud"`},
		{"log format is unknown", map[string]string{"LOG_FORMAT": "logfmt"}, `LOG_FORMAT="logfmt"`},
		{"shutdown delay is not a duration", map[string]string{"SHUTDOWN_DELAY": "soon"}, `SHUTDOWN_DELAY="soon"`},
		{"shutdown delay is negative", map[string]string{"SHUTDOWN_DELAY": "-1s"}, `SHUTDOWN_DELAY="-1s"`},
		{"shutdown delay is too long", map[string]string{"SHUTDOWN_DELAY": "10h"}, `SHUTDOWN_DELAY="10h"`},
		{"requests to log are unknown", map[string]string{"LOG_REQUESTS": "some"}, `LOG_REQUESTS="some"`},
		{"heartbeat is not a duration", map[string]string{"SSE_HEARTBEAT": "often"}, `SSE_HEARTBEAT="often"`},
		{"heartbeat is too frequent", map[string]string{"SSE_HEARTBEAT": "1ms"}, `SSE_HEARTBEAT="1ms"`},
		{"replicas out of range", map[string]string{"NATS_REPLICAS": "7"}, `NATS_REPLICAS="7"`},
		{"replicas on the embedded server", map[string]string{"NATS_REPLICAS": "3"}, "needs a cluster"},
		{"session ttl is not a duration", map[string]string{"SESSION_TTL": "week"}, `SESSION_TTL="week"`},
		{"session ttl is too short", map[string]string{"SESSION_TTL": "5s"}, `SESSION_TTL="5s"`},
		{"session key is short", map[string]string{"SESSION_KEY": "hunter2-secret"}, "SESSION_KEY: must be at least 32 characters, it has 14"},
		{"admin token is short", map[string]string{"ADMIN_TOKEN": "letmein"}, "ADMIN_TOKEN: must be at least 24 characters, it has 7"},
		{"trusted proxies are not prefixes", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}, `TRUSTED_PROXIES="10.0.0.0/8, proxy.local"`},
		{"a trusted prefix is out of range", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, `TRUSTED_PROXIES="10.0.0.0/33"`},
		{"snapshot interval is not a number", map[string]string{"SNAPSHOT_EVERY": "often"}, `SNAPSHOT_EVERY="often"`},
		{"snapshot interval is zero", map[string]string{"SNAPSHOT_EVERY": "0"}, `SNAPSHOT_EVERY="0"`},
		{"aggregate cache is negative", map[string]string{"AGGREGATE_CACHE": "-1"}, `AGGREGATE_CACHE="-1"`},
		{"nats port is zero", map[string]string{"NATS_PORT": "0"}, `NATS_PORT="0"`},
		{"nats url has no host", map[string]string{"NATS_URL": "localhost"}, `NATS_URL="localhost"`},
		{"nats url has a web scheme", map[string]string{"NATS_URL": "http://a:4222"}, `unsupported scheme "http"`},
		{"credentials without an external server", map[string]string{"NATS_TOKEN": "t"}, "set NATS_URL too"},
		{"two kinds of credentials", map[string]string{"NATS_URL": "nats://a:4222", "NATS_TOKEN": "t", "NATS_USER": "u", "NATS_PASSWORD": "p"}, "only one of"},
		{"a user without a password", map[string]string{"NATS_URL": "nats://a:4222", "NATS_USER": "u"}, "go together"},
		{"a certificate without its key", map[string]string{"NATS_URL": "nats://a:4222", "NATS_TLS_CERT": "/etc/hostname"}, "NATS_TLS_CERT and NATS_TLS_KEY"},
		{"a creds file that is not there", map[string]string{"NATS_URL": "nats://a:4222", "NATS_CREDS": "/no/such.creds"}, `NATS_CREDS="/no/such.creds"`},
		{"nats port with an external server", map[string]string{"NATS_URL": "nats://a:4222", "NATS_PORT": "4222"}, "only applies to the embedded server"},
		{"connection cap is negative", map[string]string{"HTTP_MAX_CONNS": "-1"}, `HTTP_MAX_CONNS="-1"`},
		{"stream cap is not a number", map[string]string{"HTTP_MAX_STREAMS": "many"}, `HTTP_MAX_STREAMS="many"`},
		{"more streams than connections", map[string]string{"HTTP_MAX_CONNS": "10", "HTTP_MAX_STREAMS": "11"}, `HTTP_MAX_STREAMS="11": must not exceed HTTP_MAX_CONNS`},
		{"no streams per session", map[string]string{"HTTP_MAX_STREAMS_PER_SESSION": "0"}, `HTTP_MAX_STREAMS_PER_SESSION="0"`},
		{"streams per client are negative", map[string]string{"HTTP_MAX_STREAMS_PER_CLIENT": "-1"}, `HTTP_MAX_STREAMS_PER_CLIENT="-1"`},
		{"idle timeout is not a duration", map[string]string{"HTTP_IDLE_TIMEOUT": "60"}, `HTTP_IDLE_TIMEOUT="60"`},
		{"body timeout is too short", map[string]string{"HTTP_BODY_TIMEOUT": "10ms"}, `HTTP_BODY_TIMEOUT="10ms"`},
		{"metrics address has no port", map[string]string{"METRICS_ADDR": "127.0.0.1"}, `METRICS_ADDR="127.0.0.1"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(lookup(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%v) error = %v, want it to mention %s", tc.env, err, tc.want)
			}
		})
	}
}

func TestFromEnvReadsDotEnvBelowTheEnvironment(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(envFile, []byte("PORT=9090\nDATA_DIR=/from/file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATA_DIR", "/from/env")
	cfg, err := FromEnv(envFile)
	if err != nil {
		t.Fatalf("FromEnv: %v", err)
	}
	if cfg.Port != 9090 {
		t.Errorf("Port = %d, want 9090 from the .env file", cfg.Port)
	}
	if cfg.DataDir != "/from/env" {
		t.Errorf("DataDir = %q, want the environment to win over .env", cfg.DataDir)
	}
	if _, err := FromEnv(filepath.Join(t.TempDir(), "missing.env")); err != nil {
		t.Errorf("FromEnv(missing file) = %v, want no error", err)
	}
}

func TestParseNATSAuth(t *testing.T) {
	t.Parallel()
	cfg, err := Parse(lookup(map[string]string{"NATS_URL": "tls://a:4222", "NATS_USER": "u", "NATS_PASSWORD": "p", "NATS_TLS_CA": "/etc/hostname"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NATSAuth != (NATSAuth{User: "u", Password: "p", TLSCA: "/etc/hostname"}) {
		t.Errorf("NATSAuth = %+v", cfg.NATSAuth)
	}
}

func TestParseSessionSettings(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("k", 32)
	cfg, err := Parse(lookup(map[string]string{"SESSION_KEY": key, "TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7 ,fd00::/8"}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"), netip.MustParsePrefix("fd00::/8")}
	if cfg.SessionKey != key || !reflect.DeepEqual(cfg.TrustedProxies, want) {
		t.Errorf("SessionKey %q, TrustedProxies %v; want the key and %v", cfg.SessionKey, cfg.TrustedProxies, want)
	}
	// A short key is refused without showing it.
	if _, err := Parse(lookup(map[string]string{"SESSION_KEY": "hunter2-secret"})); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a short key: error %v; want one that does not show the key", err)
	}
}

func TestParseHTTPLimits(t *testing.T) {
	t.Parallel()
	cfg, err := Parse(lookup(map[string]string{
		"HTTP_MAX_CONNS": "500", "HTTP_MAX_STREAMS": "400", "HTTP_MAX_STREAMS_PER_SESSION": "4", "HTTP_MAX_STREAMS_PER_CLIENT": "100",
		"HTTP_IDLE_TIMEOUT": "5s", "HTTP_BODY_TIMEOUT": "2s",
	}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := HTTPLimits{MaxConns: 500, MaxStreams: 400, MaxStreamsPerSession: 4, MaxStreamsPerClient: 100, IdleTimeout: 5 * time.Second, BodyTimeout: 2 * time.Second}
	if cfg.HTTP != want {
		t.Errorf("HTTP = %+v, want %+v", cfg.HTTP, want)
	}
}
