package deploy_test

import (
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/modfile"

	"ironstar/config"
	"ironstar/features/health"
	"ironstar/internal/cluster"
)

// The recipes, seen from this package's directory.
const (
	composeFile = "compose.yaml"
	dockerfile  = "Dockerfile"
	repoRoot    = ".."
)

// appShutdownAfterDelay is how long the app may take to stop once
// SHUTDOWN_DELAY is over (docs/09-operations.md, Shutdown).
const appShutdownAfterDelay = 10 * time.Second

// compose is what the test reads of compose.yaml.
type compose struct {
	Services map[string]service `yaml:"services"`
	Networks map[string]struct {
		IPAM struct {
			Config []struct {
				Subnet string `yaml:"subnet"`
			} `yaml:"config"`
		} `yaml:"ipam"`
	} `yaml:"networks"`
}

// service is what the test reads of one service.
type service struct {
	Image string `yaml:"image"`
	Build struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
		Target     string `yaml:"target"`
	} `yaml:"build"`
	Command         []string          `yaml:"command"`
	Environment     map[string]string `yaml:"environment"`
	Ports           []string          `yaml:"ports"`
	Volumes         []string          `yaml:"volumes"`
	Networks        yaml.Node         `yaml:"networks"`
	StopGracePeriod string            `yaml:"stop_grace_period"`
}

// recipes are the three files, parsed, and what they are checked against.
type recipes struct {
	compose   compose
	docker    []stage
	caddyfile string
	goVersion string            // go.mod's go line
	modules   map[string]string // go.mod's required versions by module path
}

// load reads the recipes, the Caddyfile and go.mod.
func load(t *testing.T) recipes {
	t.Helper()
	var r recipes
	data, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &r.compose); err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	for name, s := range r.compose.Services {
		for k, v := range s.Environment {
			s.Environment[k] = interpolate(t, v)
		}
		r.compose.Services[name] = s
	}
	text, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	r.docker = parseDockerfile(string(text))
	caddyfile, err := os.ReadFile(filepath.Join(repoRoot, cluster.Caddyfile))
	if err != nil {
		t.Fatal(err)
	}
	r.caddyfile = string(caddyfile)
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.goVersion = mod.Go.Version
	r.modules = map[string]string{}
	for _, req := range mod.Require {
		r.modules[req.Mod.Path] = strings.TrimPrefix(req.Mod.Version, "v")
	}
	return r
}

// composeVariable is Compose's interpolation, ${NAME} or ${NAME:-default}.
var composeVariable = regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}`)

// interpolate resolves Compose variables as an empty environment would:
// to their defaults.
func interpolate(t *testing.T, value string) string {
	t.Helper()
	out := composeVariable.ReplaceAllString(value, "$2")
	if strings.Contains(out, "$") {
		t.Fatalf("%s: %q uses interpolation this test does not read", composeFile, value)
	}
	return out
}

// servicesBuilding lists the services built from the Dockerfile's target,
// by name, sorted.
func (r recipes) servicesBuilding(target string) []string {
	var names []string
	for name, s := range r.compose.Services {
		if s.Build.Target == target {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// natsServices lists the NATS nodes, sorted.
func (r recipes) natsServices() []string {
	var names []string
	for name, s := range r.compose.Services {
		if strings.HasPrefix(s.Image, "nats:") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// TestComposeRunsTheClusterTheTaskRuns: as many NATS nodes as the cluster
// task, on go.mod's nats-server, in one JetStream cluster of the same
// name; the app instances pointed at all of them with the same replicas
// and the same variables as the task's instances.
func TestComposeRunsTheClusterTheTaskRuns(t *testing.T) {
	r := load(t)
	nodes := r.natsServices()
	if len(nodes) != cluster.DefaultSize {
		t.Errorf("%s runs %d NATS nodes %v; the cluster task runs %d", composeFile, len(nodes), nodes, cluster.DefaultSize)
	}
	wantImage := "nats:" + r.modules["github.com/nats-io/nats-server/v2"] + "-alpine"
	var routes, urls []string
	for _, n := range nodes {
		routes = append(routes, "nats://"+n+":6222")
		urls = append(urls, "nats://"+n+":4222")
	}
	for _, n := range nodes {
		s := r.compose.Services[n]
		if s.Image != wantImage {
			t.Errorf("%s: image %s; go.mod's nats-server is %s", n, s.Image, wantImage)
		}
		for flag, want := range map[string]string{
			"--name": n, "--cluster_name": cluster.NATSClusterName,
			"--routes": strings.Join(routes, ","), "--store_dir": "/data",
		} {
			if got := flagValue(s.Command, flag); got != want {
				t.Errorf("%s: %s %q, want %q (command %q)", n, flag, got, want, s.Command)
			}
		}
		if !slices.Contains(s.Command, "--jetstream") {
			t.Errorf("%s: no --jetstream in %q", n, s.Command)
		}
		if !slices.ContainsFunc(s.Volumes, func(v string) bool { return strings.HasSuffix(v, ":/data") }) {
			t.Errorf("%s: its store /data is on no volume (%q)", n, s.Volumes)
		}
	}

	apps := r.servicesBuilding("app")
	if len(apps) < 2 {
		t.Fatalf("%s runs %d app instances %v; scaled out is at least 2", composeFile, len(apps), apps)
	}
	// The variables the cluster task gives its instances.
	taskEnv := slices.Concat((&cluster.NATS{}).Env(), cluster.BehindProxyEnv())
	for _, name := range apps {
		env := r.compose.Services[name].Environment
		for _, setting := range taskEnv {
			key, _, _ := strings.Cut(setting, "=")
			if _, ok := env[key]; !ok {
				t.Errorf("%s: no %s; the cluster task sets it", name, key)
			}
		}
		if got := env["NATS_URL"]; got != strings.Join(urls, ",") {
			t.Errorf("%s: NATS_URL=%s, want every node: %s", name, got, strings.Join(urls, ","))
		}
		if got, want := env["NATS_REPLICAS"], fmt.Sprint(cluster.Replicas); got != want {
			t.Errorf("%s: NATS_REPLICAS=%s; the cluster task uses %s", name, got, want)
		}
	}
}

// flagValue is the argument after flag in a command.
func flagValue(command []string, flag string) string {
	i := slices.Index(command, flag)
	if i < 0 || i+1 >= len(command) {
		return ""
	}
	return command[i+1]
}

// TestComposeSetsOnlyWhatTheAppReads: every variable of an app instance is
// one the config package reads, and together with the image's ENV they
// pass its checks, as they must for the app to start.
func TestComposeSetsOnlyWhatTheAppReads(t *testing.T) {
	r := load(t)
	image := stageNamed(t, r.docker, "app").env
	for _, name := range r.servicesBuilding("app") {
		checkSettings(t, name, mergeEnv(image, r.compose.Services[name].Environment))
	}
}

// checkSettings parses env as the app does and fails on an error or on a
// variable the config package never looks up.
func checkSettings(t *testing.T, where string, env map[string]string) config.Config {
	t.Helper()
	read := map[string]bool{}
	cfg, err := config.Parse(func(key string) string {
		read[key] = true
		return env[key]
	})
	if err != nil {
		t.Errorf("%s: the app would refuse to start: %v", where, err)
	}
	for key := range env {
		if !read[key] {
			t.Errorf("%s: sets %s, which the app does not read", where, key)
		}
	}
	return cfg
}

// mergeEnv is the image's ENV overridden by the service's environment.
func mergeEnv(image, service map[string]string) map[string]string {
	out := maps.Clone(image)
	maps.Copy(out, service)
	return out
}

// TestComposeFitsTheProxy: Caddy runs the very Caddyfile the cluster task
// runs, with its placeholders set to the app instances on their port; the
// instances trust Caddy's address, drain longer than its probe interval,
// are given time to drain by Compose, and publish no port, metrics
// included.
func TestComposeFitsTheProxy(t *testing.T) {
	r := load(t)
	caddy, ok := r.compose.Services["caddy"]
	if !ok {
		t.Fatalf("%s has no caddy service", composeFile)
	}
	if want := "caddy:" + strings.TrimPrefix(r.modules["github.com/caddyserver/caddy/v2"], "v"); caddy.Image != want {
		t.Errorf("caddy: image %s; go.mod's Caddy (the one the cluster task builds) is %s", caddy.Image, want)
	}
	mounted := false
	for _, v := range caddy.Volumes {
		host, inContainer, _ := strings.Cut(strings.TrimSuffix(v, ":ro"), ":")
		if inContainer == "/etc/caddy/Caddyfile" {
			mounted = true
			if got, want := abs(t, host), abs(t, filepath.Join(repoRoot, cluster.Caddyfile)); got != want {
				t.Errorf("caddy mounts %s; the cluster task runs %s", got, want)
			}
		}
	}
	if !mounted {
		t.Errorf("caddy mounts nothing at /etc/caddy/Caddyfile, where its image reads the config (%q)", caddy.Volumes)
	}

	// The placeholders: every one without a default is set, and nothing
	// else is.
	placeholders := caddyPlaceholders(r.caddyfile)
	for key := range caddy.Environment {
		if _, ok := placeholders[key]; !ok {
			t.Errorf("caddy: sets %s, which %s does not read", key, cluster.Caddyfile)
		}
	}
	for key, hasDefault := range placeholders {
		if _, ok := caddy.Environment[key]; !ok && !hasDefault {
			t.Errorf("caddy: %s needs %s, which is not set", cluster.Caddyfile, key)
		}
	}

	apps := r.servicesBuilding("app")
	image := stageNamed(t, r.docker, "app").env
	var upstreams []string
	caddyAddr := ipv4Address(t, caddy.Networks)
	subnet := netip.MustParsePrefix(r.subnet(t))
	if !subnet.Contains(caddyAddr) {
		t.Errorf("caddy's address %s is outside the network's %s", caddyAddr, subnet)
	}
	probe := caddyDuration(t, r.caddyfile, "health_interval")
	for _, name := range apps {
		s := r.compose.Services[name]
		cfg := checkSettings(t, name, mergeEnv(image, s.Environment))
		upstreams = append(upstreams, fmt.Sprintf("%s:%d", name, cfg.Port))
		if !slices.ContainsFunc(cfg.TrustedProxies, func(p netip.Prefix) bool { return p.Contains(caddyAddr) }) {
			t.Errorf("%s: TRUSTED_PROXIES=%s leaves out Caddy (%s): every visitor would be one client", name, s.Environment["TRUSTED_PROXIES"], caddyAddr)
		}
		if cfg.ShutdownDelay <= probe {
			t.Errorf("%s: SHUTDOWN_DELAY %s is not longer than Caddy's health_interval %s", name, cfg.ShutdownDelay, probe)
		}
		grace, err := time.ParseDuration(s.StopGracePeriod)
		if err != nil || grace < cfg.ShutdownDelay+appShutdownAfterDelay {
			t.Errorf("%s: stop_grace_period %q, want at least SHUTDOWN_DELAY + %s = %s", name, s.StopGracePeriod, appShutdownAfterDelay, cfg.ShutdownDelay+appShutdownAfterDelay)
		}
		if cfg.MetricsAddr == "" {
			t.Errorf("%s: no METRICS_ADDR", name)
		}
		if len(s.Ports) != 0 {
			t.Errorf("%s publishes %q: only Caddy faces the world", name, s.Ports)
		}
	}
	if got, want := caddy.Environment["PROXY_UPSTREAMS"], strings.Join(upstreams, " "); got != want {
		t.Errorf("caddy: PROXY_UPSTREAMS=%q, want every app instance on its port: %q", got, want)
	}
}

// subnet is the compose network's one subnet.
func (r recipes) subnet(t *testing.T) string {
	t.Helper()
	for name, n := range r.compose.Networks {
		if len(n.IPAM.Config) != 1 {
			t.Fatalf("network %s: %d subnets, want the one TRUSTED_PROXIES relies on", name, len(n.IPAM.Config))
		}
		return n.IPAM.Config[0].Subnet
	}
	t.Fatalf("%s declares no network", composeFile)
	return ""
}

// ipv4Address is a service's fixed address on its network.
func ipv4Address(t *testing.T, networks yaml.Node) netip.Addr {
	t.Helper()
	var byName map[string]struct {
		IPv4 string `yaml:"ipv4_address"`
	}
	if err := networks.Decode(&byName); err != nil || len(byName) != 1 {
		t.Fatalf("caddy: want one network with an ipv4_address (%v)", err)
	}
	for _, n := range byName {
		addr, err := netip.ParseAddr(n.IPv4)
		if err != nil {
			t.Fatalf("caddy: ipv4_address: %v", err)
		}
		return addr
	}
	return netip.Addr{}
}

// caddyPlaceholder is an environment placeholder, {$NAME} or
// {$NAME:default}.
var caddyPlaceholder = regexp.MustCompile(`\{\$([A-Z_][A-Z0-9_]*)(:[^}]*)?\}`)

// caddyPlaceholders maps each placeholder of a Caddyfile to whether it has
// a default.
func caddyPlaceholders(caddyfile string) map[string]bool {
	out := map[string]bool{}
	for _, m := range caddyPlaceholder.FindAllStringSubmatch(caddyfile, -1) {
		out[m[1]] = out[m[1]] || m[2] != ""
	}
	return out
}

// caddyArgs is the arguments of the Caddyfile's one line starting with
// directive.
func caddyArgs(t *testing.T, caddyfile, directive string) []string {
	t.Helper()
	var found [][]string
	for line := range strings.Lines(caddyfile) {
		fields := strings.Fields(line)
		if len(fields) > 0 && fields[0] == directive {
			found = append(found, fields[1:])
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: %d lines of %s, want 1", cluster.Caddyfile, len(found), directive)
	}
	return found[0]
}

// caddyDuration is the duration argument of a Caddyfile directive.
func caddyDuration(t *testing.T, caddyfile, directive string) time.Duration {
	t.Helper()
	args := caddyArgs(t, caddyfile, directive)
	d, err := time.ParseDuration(strings.Join(args, ""))
	if err != nil {
		t.Fatalf("%s: %s %q: %v", cluster.Caddyfile, directive, args, err)
	}
	return d
}

// TestTheCaddyfileProbesReadinessAndStreams: the health check is a route
// the app serves, more often than the cluster task's SHUTDOWN_DELAY, and
// SSE passes unbuffered.
func TestTheCaddyfileProbesReadinessAndStreams(t *testing.T) {
	r := load(t)
	uri := caddyArgs(t, r.caddyfile, "health_uri")
	router := chi.NewRouter()
	health.Routes(router, health.Deps{Logger: slog.New(slog.DiscardHandler)})
	var routes []string
	chi.Walk(router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, method+" "+route)
		return nil
	})
	if len(uri) != 1 || !slices.Contains(routes, "GET "+uri[0]) {
		t.Errorf("%s: health_uri %q is not a route of the health feature %q", cluster.Caddyfile, uri, routes)
	}
	cfg := checkSettings(t, "the cluster task's instances", envMap(cluster.BehindProxyEnv()))
	if probe := caddyDuration(t, r.caddyfile, "health_interval"); cfg.ShutdownDelay <= probe {
		t.Errorf("the cluster task's SHUTDOWN_DELAY %s is not longer than health_interval %s", cfg.ShutdownDelay, probe)
	}
	if args := caddyArgs(t, r.caddyfile, "flush_interval"); !slices.Equal(args, []string{"-1"}) {
		t.Errorf("%s: flush_interval %q, want -1 (SSE unbuffered)", cluster.Caddyfile, args)
	}
}

// envMap turns KEY=value settings into a map.
func envMap(settings []string) map[string]string {
	out := map[string]string{}
	for _, s := range settings {
		k, v, _ := strings.Cut(s, "=")
		out[k] = v
	}
	return out
}

// stage is one FROM of the Dockerfile and what the test reads of it.
type stage struct {
	name, from string
	env        map[string]string
	user       string
	expose     []string
	runs       []string
}

// parseDockerfile reads the instructions the test checks, with line
// continuations joined and comments skipped.
func parseDockerfile(text string) []stage {
	var stages []stage
	var logical strings.Builder
	var lines []string
	for line := range strings.Lines(text) {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && logical.Len() == 0) {
			continue
		}
		if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
			logical.WriteString(cont + " ")
			continue
		}
		logical.WriteString(trimmed)
		lines = append(lines, logical.String())
		logical.Reset()
	}
	for _, line := range lines {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		args := fields[1:]
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			s := stage{from: args[0], env: map[string]string{}}
			if len(args) == 3 && strings.EqualFold(args[1], "AS") {
				s.name = args[2]
			}
			stages = append(stages, s)
		case "ENV":
			for _, kv := range args {
				k, v, _ := strings.Cut(kv, "=")
				stages[len(stages)-1].env[k] = v
			}
		case "USER":
			stages[len(stages)-1].user = args[0]
		case "EXPOSE":
			stages[len(stages)-1].expose = append(stages[len(stages)-1].expose, args...)
		case "RUN":
			stages[len(stages)-1].runs = append(stages[len(stages)-1].runs, strings.Join(args, " "))
		}
	}
	return stages
}

// stageNamed finds a stage by its AS name.
func stageNamed(t *testing.T, stages []stage, name string) stage {
	t.Helper()
	for _, s := range stages {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("%s has no stage %s", dockerfile, name)
	return stage{}
}

// TestTheDockerfileBuildsWhatTheTaskBuilds: Go at go.mod's version; the
// web app without cgo onto distroless/static, run as a user other than
// root, listening on all interfaces on the port it exposes; and the stages
// compose.yaml builds exist in this file.
func TestTheDockerfileBuildsWhatTheTaskBuilds(t *testing.T) {
	r := load(t)
	goStages := 0
	for _, s := range r.docker {
		if image, ok := strings.CutPrefix(s.from, "golang:"); ok {
			goStages++
			if version, _, _ := strings.Cut(image, "-"); version != r.goVersion {
				t.Errorf("%s: stage %s builds on %s; go.mod says go %s", dockerfile, s.name, s.from, r.goVersion)
			}
		}
	}
	if goStages == 0 {
		t.Errorf("%s: no stage on the golang image", dockerfile)
	}

	app := stageNamed(t, r.docker, "app")
	checkFinalStage(t, app, "gcr.io/distroless/static-debian12:nonroot")
	if !slices.ContainsFunc(stageNamed(t, r.docker, "app-build").runs, func(run string) bool {
		return strings.Contains(run, "CGO_ENABLED=0 go build") && strings.Contains(run, "./cmd/app")
	}) {
		t.Errorf("%s: app-build does not build ./cmd/app with CGO_ENABLED=0, as go tool task build:app does", dockerfile)
	}
	cfg := checkSettings(t, dockerfile+" stage app", app.env)
	if host := net.ParseIP(cfg.Host); host == nil || !host.IsUnspecified() {
		t.Errorf("%s: HOST=%s; in a container the app must listen on every interface (0.0.0.0)", dockerfile, cfg.Host)
	}
	if want := fmt.Sprint(cfg.Port); !slices.Equal(app.expose, []string{want}) {
		t.Errorf("%s: EXPOSE %q, but the app listens on %s", dockerfile, app.expose, want)
	}

	for name, s := range r.compose.Services {
		if s.Build.Target == "" {
			continue
		}
		stageNamed(t, r.docker, s.Build.Target)
		if got, want := abs(t, filepath.Join(s.Build.Context, s.Build.Dockerfile)), abs(t, dockerfile); got != want {
			t.Errorf("%s builds %s, not %s", name, got, want)
		}
	}
}

// abs is a path relative to this directory (where compose.yaml is) made
// absolute.
func abs(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkFinalStage checks an image's base and that it runs as a user other
// than root.
func checkFinalStage(t *testing.T, s stage, base string) {
	t.Helper()
	if s.from != base {
		t.Errorf("%s: stage %s is FROM %s, want %s", dockerfile, s.name, s.from, base)
	}
	user, _, _ := strings.Cut(s.user, ":")
	if user == "" || user == "root" || user == "0" {
		t.Errorf("%s: stage %s runs as %q, want a user other than root", dockerfile, s.name, s.user)
	}
}

// TestTheAnalyticsEnginesRunLikeTheTasks: engines on distroless/cc (DuckDB
// needs glibc and libstdc++), as a user other than root, as many as the
// cluster task runs, pointed at NATS as the instances are, each with its
// DuckDB file on a volume.
//
//ironstar:needs analytics
func TestTheAnalyticsEnginesRunLikeTheTasks(t *testing.T) {
	r := load(t)
	image := stageNamed(t, r.docker, "analytics")
	checkFinalStage(t, image, "gcr.io/distroless/cc-debian12:nonroot")
	engines := r.servicesBuilding("analytics")
	if len(engines) != cluster.DefaultEngines {
		t.Errorf("%s runs %d analytics engines %v; the cluster task runs %d", composeFile, len(engines), engines, cluster.DefaultEngines)
	}
	apps := r.servicesBuilding("app")
	for _, name := range engines {
		s := r.compose.Services[name]
		cfg := checkSettings(t, name, mergeEnv(image.env, s.Environment))
		for _, key := range []string{"NATS_URL", "NATS_REPLICAS"} {
			if len(apps) > 0 && s.Environment[key] != r.compose.Services[apps[0]].Environment[key] {
				t.Errorf("%s: %s=%s; the app instances have %s", name, key, s.Environment[key], r.compose.Services[apps[0]].Environment[key])
			}
		}
		if !slices.ContainsFunc(s.Volumes, func(v string) bool { return strings.HasSuffix(v, ":"+cfg.DataDir) }) {
			t.Errorf("%s: DATA_DIR %s (its DuckDB file) is on no volume (%q)", name, cfg.DataDir, s.Volumes)
		}
	}
}
