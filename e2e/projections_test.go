package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go/jetstream"

	"ironstar/features/projections"
	"ironstar/nats/projection"
)

// projectionsToken is the ADMIN_TOKEN of the projection operations' tests.
const projectionsToken = "projections-test-admin-token"

// startProjectionsApp starts the app with ADMIN_TOKEN and its embedded
// NATS server on a TCP port, for tests that look past it.
func startProjectionsApp(t *testing.T) *app {
	t.Helper()
	return startApp(t, appOptions{env: []string{"ADMIN_TOKEN=" + projectionsToken, "NATS_PORT=" + freePort(t)}})
}

// operatorGet sends a GET with the operator's token (none if token is
// empty) and returns the status and body.
func operatorGet(t *testing.T, a *app, path, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, a.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(res.Body)
	return res.StatusCode, body.Bytes()
}

// projectionsReport is the app's status as the command line reads it.
func projectionsReport(t *testing.T, a *app) projections.Report {
	t.Helper()
	status, body := operatorGet(t, a, projections.StatusPath, projectionsToken)
	if status != http.StatusOK {
		t.Fatalf("GET %s = %d %s", projections.StatusPath, status, body)
	}
	var report projections.Report
	if err := json.Unmarshal(body, &report); err != nil {
		t.Fatalf("status: %v in %s", err, body)
	}
	return report
}

// projectionsCLI runs `app projections args...` against a, with the
// app's config in its environment, and returns its output and exit code.
func projectionsCLI(t *testing.T, a *app, token string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prodBin, append([]string{"projections"}, args...)...)
	cmd.Dir = t.TempDir() // no .env of the repository's
	port := a.URL[strings.LastIndexByte(a.URL, ':')+1:]
	cmd.Env = []string{"HOST=127.0.0.1", "PORT=" + port, "ADMIN_TOKEN=" + token}
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); ok {
		return string(out), exit.ExitCode()
	} else if err != nil {
		t.Fatalf("projections %v: %v", args, err)
	}
	return string(out), 0
}

// TestProjectionOperationsAreAnOperatorsLiveViewAndCLI: /projections and
// its routes are 404 to anyone without the token; with it, the page lists
// every projection the status reports and updates itself; a leftover of a
// renamed projection is listed, and `app projections cleanup` removes it
// and nothing in use; `app projections status` prints the same status.
func TestProjectionOperationsAreAnOperatorsLiveViewAndCLI(t *testing.T) {
	t.Parallel()
	a := startProjectionsApp(t)
	for _, path := range []string{"/projections", "/projections/updates", projections.StatusPath} {
		if status, _ := operatorGet(t, a, path, ""); status != http.StatusNotFound {
			t.Errorf("GET %s without credentials = %d, want 404", path, status)
		}
		if status, _ := operatorGet(t, a, path, "wrong-token-of-the-right-length"); status != http.StatusNotFound {
			t.Errorf("GET %s with a wrong token = %d, want 404", path, status)
		}
	}
	if status, body := operatorGet(t, a, "/projections", projectionsToken); status != http.StatusOK || !bytes.Contains(body, []byte(`id="projections-status"`)) {
		t.Fatalf("GET /projections with the token = %d, want 200 and the status view:\n%s", status, body)
	}
	if out, code := projectionsCLI(t, a, "", "status"); code != 1 || !strings.Contains(out, "ADMIN_TOKEN") {
		t.Errorf("projections status without the token: exit %d, output:\n%s\nwant exit 1 naming ADMIN_TOKEN", code, out)
	}

	// A projection since renamed left its meta key and a bucket.
	js := embeddedJetStream(t, a.NATSPort)
	meta, err := js.CreateOrUpdateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: projection.MetaBucket, History: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := meta.Put(t.Context(), "renamed", []byte(`{"generation":1}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "proj_renamed_1"}); err != nil {
		t.Fatal(err)
	}
	report := projectionsReport(t, a)
	var leftovers []string
	for _, l := range report.Leftovers {
		leftovers = append(leftovers, l.Kind+" "+l.Name)
	}
	if want := []string{"meta key renamed", "bucket proj_renamed_1"}; !slices.Equal(leftovers, want) {
		t.Errorf("leftovers %v, want %v", leftovers, want)
	}
	out, code := projectionsCLI(t, a, projectionsToken, "status")
	if code != 0 || !strings.Contains(out, "PROJECTION") || !strings.Contains(out, "proj_renamed_1") || !strings.Contains(out, "cleanup") {
		t.Errorf("projections status: exit %d, output:\n%s\nwant the table and the leftover with the cleanup command", code, out)
	}
	for _, p := range report.Projections {
		if !strings.Contains(out, p.Name) {
			t.Errorf("projections status does not name %s:\n%s", p.Name, out)
		}
	}

	// The page, signed in through the form: every projection has a row,
	// the leftovers their command, and the stream keeps it current.
	b := newBrowser(t)
	b.do(t,
		chromedp.Navigate(a.URL+"/operator/sign-in"),
		chromedp.SendKeys(chromedp.ID("token"), projectionsToken),
		chromedp.Submit(chromedp.ID("token")),
	)
	b.until(t, `location.pathname !== "/operator/sign-in"`)
	b.do(t, chromedp.Navigate(a.URL+"/projections"))
	b.until(t, `!!document.getElementById("projections-status")`)
	rows := eval[[]string](t, b, `[...document.querySelectorAll("#projections-table tr[data-projection]")].map(tr => tr.dataset.projection)`)
	var names []string
	for _, p := range report.Projections {
		names = append(names, p.Name)
	}
	if !slices.Equal(rows, names) {
		t.Errorf("the page's rows %v, want the projections %v", rows, names)
	}
	if len(report.Reactors) == 0 && eval[string](t, b, `document.getElementById("reactors-none")?.textContent ?? ""`) != "No reactors" {
		t.Error(`no reactors, and the page does not say "No reactors"`)
	}
	if got := eval[string](t, b, `document.getElementById("cleanup-command")?.textContent ?? ""`); got != "bin/app projections cleanup" {
		t.Errorf("the leftovers' command %q, want bin/app projections cleanup", got)
	}
	first := eval[string](t, b, `document.getElementById("projections-status").dataset.at`)
	b.until(t, `document.getElementById("projections-status").dataset.at !== `+strconv.Quote(first))
	b.screenshot(t, "projections")

	// The cleanup removes the leftovers, and the page shows them gone;
	// every current generation is intact.
	out, code = projectionsCLI(t, a, projectionsToken, "cleanup")
	if code != 0 || !strings.Contains(out, "removed bucket proj_renamed_1") || !strings.Contains(out, "removed meta key renamed") {
		t.Errorf("projections cleanup: exit %d, output:\n%s", code, out)
	}
	if report := projectionsReport(t, a); len(report.Leftovers) != 0 {
		t.Errorf("leftovers after the cleanup: %+v", report.Leftovers)
	}
	b.until(t, `!!document.getElementById("leftovers-none")`)
	for _, p := range report.Projections {
		if _, err := js.KeyValue(t.Context(), "proj_"+p.Name+"_"+strconv.FormatUint(p.Generation, 10)); err != nil {
			t.Errorf("projection %s's current generation: %v", p.Name, err)
		}
	}
	if out, code := projectionsCLI(t, a, projectionsToken, "cleanup"); code != 0 || !strings.Contains(out, "nothing to remove") {
		t.Errorf("a second cleanup: exit %d, output:\n%s", code, out)
	}

	// The page's button rebuilds a projection: its generation rises.
	if len(report.Projections) > 0 {
		p := report.Projections[0]
		b.do(t, chromedp.Click(chromedp.CSS(`tr[data-projection="`+p.Name+`"] button`)))
		b.until(t, `!document.getElementById("projections-notice").hidden`)
		b.until(t, `document.querySelector('tr[data-projection="`+p.Name+`"] .projections-generation').textContent.trim().startsWith("`+strconv.FormatUint(p.Generation+1, 10)+` ")`)
		b.screenshot(t, "projections-rebuilt")
	}
	b.checkClean(t)
}
