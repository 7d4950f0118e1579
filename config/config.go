// Package config reads Ironstar's settings from the environment (and an
// optional .env file) into one immutable Config value, failing fast on bad input.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"ironstar/logging"
)

// Config is every setting the app reads at start. It is a plain value: pass
// it (or the parts a component needs) down from the composition root.
type Config struct {
	// Host is the interface the HTTP server listens on.
	Host string
	// Port is the HTTP port; 0 picks a free one (handy in tests).
	Port int
	// DataDir holds the embedded NATS server's JetStream files (DataDir/nats).
	DataDir string
	// LogLevel filters log records below it.
	LogLevel slog.Level
	// LogFormat is how log lines are written: text or JSON (LOG_FORMAT).
	LogFormat logging.Format
	// LogAllRequests logs every request; otherwise only those answered
	// 4xx or 5xx, or slow (LOG_REQUESTS).
	LogAllRequests bool
	// NATSURL, when set, connects to an external NATS server or cluster
	// (comma-separated URLs) instead of starting the embedded one.
	NATSURL string
	// NATSAuth holds the credentials and TLS files for an external NATS.
	NATSAuth NATSAuth
	// NATSPort, when non-zero, makes the embedded NATS server listen on
	// 127.0.0.1:NATSPort so the nats CLI can reach it. Zero keeps it
	// in-process only.
	NATSPort int
	// Replicas is the replica count of every stream and bucket the app
	// creates: 1 on the embedded server, 3 recommended on a cluster.
	Replicas int
	// SessionTTL is how long an unused session lives.
	SessionTTL time.Duration
	// Heartbeat is how often a quiet SSE stream sends a comment, so that
	// proxies do not cut it as idle; 0: never.
	Heartbeat time.Duration
	// SessionKey, when set, signs session cookies (every instance must have
	// the same); empty lets the app generate one and keep it in NATS.
	SessionKey string
	// AdminToken, when set, opens the operator routes (the event log,
	// projection operations) to requests that carry it (package operator);
	// empty: they exist in dev builds only, open to all.
	AdminToken string
	// TrustedProxies are the peers whose X-Forwarded-Proto is believed
	// (the session cookie is Secure when it says https); empty trusts none.
	TrustedProxies []netip.Prefix
	// SnapshotEvery is how many events an aggregate may gain on top of its
	// last snapshot before the command handler saves a new one.
	SnapshotEvery int
	// AggregateCache is how many aggregates each command handler remembers,
	// so that a command on one of them reads nothing from NATS; 0: none.
	AggregateCache int
	// HTTP bounds what HTTP clients may hold open (see package httpserver).
	HTTP HTTPLimits
	// Quotas bound what visitors can make the app store (see quota.go).
	Quotas Quotas
	// Admission bounds the commands in flight (see admission.go).
	Admission Admission
	// ShutdownDelay is how long the app keeps serving after SIGTERM, with
	// readiness already 503, before it closes streams and the server: the
	// time a balancer needs to notice and stop sending requests
	// (SHUTDOWN_DELAY).
	ShutdownDelay time.Duration
	// PprofAddr, when set, serves net/http/pprof on its own listener
	// (e.g. 127.0.0.1:6060): never on the app's port.
	PprofAddr string
	// MetricsAddr, when set, serves Prometheus metrics at /metrics on its
	// own listener (e.g. 127.0.0.1:9090): never on the app's port.
	MetricsAddr string
	// Dev reports a development build (build tag dev): assets from disk,
	// browser reload on rebuild.
	Dev bool
}

// HTTPLimits keep HTTP clients within a budget of file descriptors. A cap
// of 0 is derived at start from the process's fd limit.
type HTTPLimits struct {
	MaxConns             int           // HTTP_MAX_CONNS: open connections (0: half the fd limit)
	MaxStreams           int           // HTTP_MAX_STREAMS: open SSE streams (0: ¾ of the connections)
	MaxStreamsPerSession int           // HTTP_MAX_STREAMS_PER_SESSION: one session's SSE streams
	MaxStreamsPerClient  int           // HTTP_MAX_STREAMS_PER_CLIENT: one client address's SSE streams (0: ¼ of the streams)
	IdleTimeout          time.Duration // HTTP_IDLE_TIMEOUT: an idle keep-alive connection closes
	BodyTimeout          time.Duration // HTTP_BODY_TIMEOUT: a request body must have arrived
}

// NATSAuth is how the app proves itself to an external NATS server: at
// most one of a credentials file, an NKey seed file, a token, or a user and
// password; and TLS files. Paths are checked at start.
type NATSAuth struct {
	CredsFile string // NATS_CREDS: a .creds file (JWT + NKey seed)
	NKeyFile  string // NATS_NKEY: a file holding an NKey seed
	Token     string // NATS_TOKEN
	User      string // NATS_USER (with NATS_PASSWORD)
	Password  string // NATS_PASSWORD
	TLSCA     string // NATS_TLS_CA: CA certificate(s) to trust
	TLSCert   string // NATS_TLS_CERT: client certificate (with NATS_TLS_KEY)
	TLSKey    string // NATS_TLS_KEY
}

// Addr is the host:port the HTTP server listens on.
func (c Config) Addr() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// Embedded reports whether the app starts its own NATS server.
func (c Config) Embedded() bool { return c.NATSURL == "" }

// Defaults for every variable; docs/08-configuration.md lists them.
const (
	DefaultHost       = "localhost"
	DefaultPort       = 8080
	DefaultDataDir    = "./data"
	DefaultLogLevel   = "info"
	DefaultSessionTTL = 7 * 24 * time.Hour
	// DefaultHeartbeat is well inside the 60 s idle timeout of nginx and
	// of common cloud balancers.
	DefaultHeartbeat = 15 * time.Second
	// DefaultMaxStreamsPerSession allows a visitor a dozen or so tabs.
	DefaultMaxStreamsPerSession = 16
	DefaultIdleTimeout          = 60 * time.Second
	// DefaultBodyTimeout is ample for a Datastar command's few hundred bytes.
	DefaultBodyTimeout = 10 * time.Second
	// DefaultSnapshotEvery keeps a command's load at most about a hundred
	// events, whatever the aggregate's length.
	DefaultSnapshotEvery = 100
	// DefaultAggregateCache holds a busy instance's working set: a few KB
	// each at most.
	DefaultAggregateCache = 10_000
	// MaxShutdownDelay is ample for any balancer's health checks (a few
	// failed probes a few seconds apart) and catches a typo such as 10h.
	MaxShutdownDelay = 5 * time.Minute
)

// FromEnv builds a Config from the process environment, with values from
// envFile (usually ".env") filling in variables the environment lacks. A
// missing envFile is not an error.
func FromEnv(envFile string) (Config, error) {
	fileVars, err := godotenv.Read(envFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return Config{}, fmt.Errorf("config: read %s: %w", envFile, err)
	}
	return Parse(func(key string) string {
		if v, ok := os.LookupEnv(key); ok {
			return v
		}
		return fileVars[key]
	})
}

// Parse builds a Config from a lookup function (os.Getenv in production, a
// map in tests). Every error names the variable at fault.
func Parse(getenv func(string) string) (Config, error) {
	get := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	fail := func(key, val, why string) {
		errs = append(errs, fmt.Errorf("config: %s=%q: %s", key, val, why))
	}

	cfg := Config{
		Host:    get("HOST", DefaultHost),
		DataDir: get("DATA_DIR", DefaultDataDir),
		NATSURL: get("NATS_URL", ""),
		Dev:     Dev,
	}

	portText := get("PORT", strconv.Itoa(DefaultPort))
	if p, ok := parsePort(portText); ok {
		cfg.Port = p
	} else {
		fail("PORT", portText, "must be a number from 0 to 65535 (0 picks a free port)")
	}

	levelText := get("LOG_LEVEL", DefaultLogLevel)
	if err := cfg.LogLevel.UnmarshalText([]byte(levelText)); err != nil {
		fail("LOG_LEVEL", levelText, "must be one of debug, info, warn, error")
	}

	formatText := get("LOG_FORMAT", string(logging.Text))
	switch format := logging.Format(formatText); format {
	case logging.Text, logging.JSON:
		cfg.LogFormat = format
	default:
		fail("LOG_FORMAT", formatText, "must be text or json")
	}

	requestsText := get("LOG_REQUESTS", defaultLogRequests())
	switch requestsText {
	case "all", "errors":
		cfg.LogAllRequests = requestsText == "all"
	default:
		fail("LOG_REQUESTS", requestsText, "must be all or errors")
	}

	replicasText := get("NATS_REPLICAS", "1")
	if r, err := strconv.Atoi(replicasText); err == nil && r >= 1 && r <= 5 {
		cfg.Replicas = r
		if r > 1 && cfg.NATSURL == "" {
			fail("NATS_REPLICAS", replicasText, "needs a cluster: the embedded server is one node (set NATS_URL, or use 1)")
		}
	} else {
		fail("NATS_REPLICAS", replicasText, "must be a number from 1 to 5")
	}

	heartbeatText := get("SSE_HEARTBEAT", DefaultHeartbeat.String())
	if d, err := time.ParseDuration(heartbeatText); err == nil && (d == 0 || d >= 10*time.Millisecond && d <= 10*time.Minute) {
		cfg.Heartbeat = d
	} else {
		fail("SSE_HEARTBEAT", heartbeatText, "must be a duration from 10ms to 10m (e.g. 15s), or 0 for none")
	}

	ttlText := get("SESSION_TTL", DefaultSessionTTL.String())
	if ttl, err := time.ParseDuration(ttlText); err == nil && ttl >= time.Minute {
		cfg.SessionTTL = ttl
	} else {
		fail("SESSION_TTL", ttlText, "must be a duration of at least 1m, e.g. 168h")
	}

	// The key is a secret: the error gives its length, not its value.
	cfg.SessionKey = get("SESSION_KEY", "")
	if n := len(cfg.SessionKey); n > 0 && n < minSessionKey {
		errs = append(errs, fmt.Errorf("config: SESSION_KEY: must be at least %d characters, it has %d (make one with `openssl rand -base64 32`)", minSessionKey, n))
	}

	cfg.AdminToken = get("ADMIN_TOKEN", "")
	if n := len(cfg.AdminToken); n > 0 && n < minAdminToken {
		errs = append(errs, fmt.Errorf("config: ADMIN_TOKEN: must be at least %d characters, it has %d (make one with `openssl rand -base64 24`)", minAdminToken, n))
	}

	if proxies := get("TRUSTED_PROXIES", ""); proxies != "" {
		for _, field := range strings.Split(proxies, ",") {
			p, ok := parsePrefix(strings.TrimSpace(field))
			if !ok {
				fail("TRUSTED_PROXIES", proxies, "must be a comma-separated list of CIDR prefixes (10.0.0.0/8, fd00::/8) or addresses")
				cfg.TrustedProxies = nil
				break
			}
			cfg.TrustedProxies = append(cfg.TrustedProxies, p)
		}
	}

	everyText := get("SNAPSHOT_EVERY", strconv.Itoa(DefaultSnapshotEvery))
	if n, err := strconv.Atoi(everyText); err == nil && n >= 1 && n <= 100_000 {
		cfg.SnapshotEvery = n
	} else {
		fail("SNAPSHOT_EVERY", everyText, "must be a number of events from 1 to 100000")
	}
	cfg.AggregateCache = count(get, fail, "AGGREGATE_CACHE", DefaultAggregateCache, 0, "must be a number of aggregates, or 0 for none")

	if natsPort := get("NATS_PORT", ""); natsPort != "" {
		if p, ok := parsePort(natsPort); ok && p > 0 {
			cfg.NATSPort = p
		} else {
			fail("NATS_PORT", natsPort, "must be a number from 1 to 65535, or empty for an in-process connection only")
		}
	}

	delayText := get("SHUTDOWN_DELAY", "0s")
	if d, err := time.ParseDuration(delayText); err == nil && d >= 0 && d <= MaxShutdownDelay {
		cfg.ShutdownDelay = d
	} else {
		fail("SHUTDOWN_DELAY", delayText, "must be a duration from 0 to "+MaxShutdownDelay.String()+", e.g. 10s")
	}

	cfg.PprofAddr = get("PPROF_ADDR", "")
	if cfg.PprofAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.PprofAddr); err != nil {
			fail("PPROF_ADDR", cfg.PprofAddr, "must be host:port, e.g. 127.0.0.1:6060")
		}
	}

	cfg.MetricsAddr = get("METRICS_ADDR", "")
	if cfg.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.MetricsAddr); err != nil {
			fail("METRICS_ADDR", cfg.MetricsAddr, "must be host:port, e.g. 127.0.0.1:9090")
		}
	}

	cfg.HTTP = parseHTTPLimits(get, fail)
	cfg.Quotas = parseQuotas(get, fail)
	cfg.Admission = parseAdmission(get, fail)

	cfg.NATSAuth = NATSAuth{
		CredsFile: get("NATS_CREDS", ""), NKeyFile: get("NATS_NKEY", ""), Token: get("NATS_TOKEN", ""),
		User: get("NATS_USER", ""), Password: getenv("NATS_PASSWORD"),
		TLSCA: get("NATS_TLS_CA", ""), TLSCert: get("NATS_TLS_CERT", ""), TLSKey: get("NATS_TLS_KEY", ""),
	}
	errs = append(errs, checkAuth(cfg.NATSAuth, cfg.NATSURL != "")...)

	if cfg.NATSURL != "" {
		for _, server := range strings.Split(cfg.NATSURL, ",") {
			if err := checkNATSURL(strings.TrimSpace(server)); err != nil {
				fail("NATS_URL", cfg.NATSURL, err.Error())
				break
			}
		}
		if cfg.NATSPort != 0 {
			fail("NATS_PORT", get("NATS_PORT", ""), "only applies to the embedded server; leave it empty when NATS_URL is set")
		}
	}

	return cfg, errors.Join(errs...)
}

// checkAuth refuses credentials without an external server, more than one
// kind of credentials, half a pair, and files that are not there.
func checkAuth(a NATSAuth, external bool) []error {
	var errs []error
	kinds := 0
	for _, set := range []bool{a.CredsFile != "", a.NKeyFile != "", a.Token != "", a.User != "" || a.Password != ""} {
		if set {
			kinds++
		}
	}
	anyTLS := a.TLSCA != "" || a.TLSCert != "" || a.TLSKey != ""
	switch {
	case !external && (kinds > 0 || anyTLS):
		errs = append(errs, errors.New("config: NATS_CREDS, NATS_NKEY, NATS_TOKEN, NATS_USER/NATS_PASSWORD and NATS_TLS_* apply to an external server: set NATS_URL too"))
	case kinds > 1:
		errs = append(errs, errors.New("config: set only one of NATS_CREDS, NATS_NKEY, NATS_TOKEN, NATS_USER/NATS_PASSWORD"))
	}
	if (a.User == "") != (a.Password == "") {
		errs = append(errs, errors.New("config: NATS_USER and NATS_PASSWORD go together"))
	}
	if (a.TLSCert == "") != (a.TLSKey == "") {
		errs = append(errs, errors.New("config: NATS_TLS_CERT and NATS_TLS_KEY go together"))
	}
	for key, path := range map[string]string{"NATS_CREDS": a.CredsFile, "NATS_NKEY": a.NKeyFile, "NATS_TLS_CA": a.TLSCA, "NATS_TLS_CERT": a.TLSCert, "NATS_TLS_KEY": a.TLSKey} {
		if path == "" {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			errs = append(errs, fmt.Errorf("config: %s=%q: %v", key, path, err))
		}
	}
	return errs
}

// minSessionKey is the shortest SESSION_KEY: 256 bits of ASCII.
const minSessionKey = 32

// minAdminToken is the shortest ADMIN_TOKEN: too long to guess through
// the sign-in form.
const minAdminToken = 24

// parsePrefix reads a CIDR prefix, or an address as a prefix of one.
func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// count reads key as a whole number of at least least (def when unset);
// anything else is reported to fail with why, and counts 0.
func count(get func(key, def string) string, fail func(key, val, why string), key string, def, least int, why string) int {
	text := get(key, strconv.Itoa(def))
	n, err := strconv.Atoi(text)
	if err != nil || n < least {
		fail(key, text, why)
		return 0
	}
	return n
}

func parsePort(s string) (int, bool) {
	p, err := strconv.Atoi(s)
	return p, err == nil && p >= 0 && p <= 65535
}

func checkNATSURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return errors.New("must be a comma-separated list of URLs such as nats://host:4222")
	}
	switch u.Scheme {
	case "nats", "tls", "ws", "wss":
		return nil
	default:
		return fmt.Errorf("unsupported scheme %q (use nats, tls, ws or wss)", u.Scheme)
	}
}

// parseHTTPLimits reads the HTTP_* budget; caps are counts (0 derives one
// from the fd limit), timeouts at least a second.
func parseHTTPLimits(get func(key, def string) string, fail func(key, val, why string)) HTTPLimits {
	const derived = "must be a number, or 0 to derive it from the fd limit"
	l := HTTPLimits{
		MaxConns:             count(get, fail, "HTTP_MAX_CONNS", 0, 0, derived),
		MaxStreams:           count(get, fail, "HTTP_MAX_STREAMS", 0, 0, derived),
		MaxStreamsPerSession: count(get, fail, "HTTP_MAX_STREAMS_PER_SESSION", DefaultMaxStreamsPerSession, 1, "must be a number of at least 1"),
		// Sessions are free, so one client address could open streams under
		// ever new ones: its own cap, 0 deriving a quarter of HTTP_MAX_STREAMS.
		MaxStreamsPerClient: count(get, fail, "HTTP_MAX_STREAMS_PER_CLIENT", 0, 0, "must be a number, or 0 for a quarter of HTTP_MAX_STREAMS"),
	}
	duration := func(key string, def time.Duration, into *time.Duration) {
		text := get(key, def.String())
		if d, err := time.ParseDuration(text); err == nil && d >= time.Second {
			*into = d
		} else {
			fail(key, text, "must be a duration of at least 1s, e.g. 30s")
		}
	}
	duration("HTTP_IDLE_TIMEOUT", DefaultIdleTimeout, &l.IdleTimeout)
	duration("HTTP_BODY_TIMEOUT", DefaultBodyTimeout, &l.BodyTimeout)
	if l.MaxConns > 0 && l.MaxStreams > l.MaxConns {
		fail("HTTP_MAX_STREAMS", strconv.Itoa(l.MaxStreams), "must not exceed HTTP_MAX_CONNS: every stream holds a connection")
	}
	return l
}

// defaultLogRequests logs every request in development builds, and in
// production only those that need attention: a busy process would spend a
// formatted line and a write on every command (2.5 % of its CPU at 500
// commands a second), which the proxy in front logs anyway.
func defaultLogRequests() string {
	if Dev {
		return "all"
	}
	return "errors"
}
