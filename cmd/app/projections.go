package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"ironstar/config"
	"ironstar/features/projections"
	"ironstar/nats/projection"
)

// The projections subcommand operates the read models of a running app:
//
//	app projections status           where each projection and reactor stands, and the leftovers
//	app projections rebuild NAME     rebuild one into a new generation, printing progress until it is swapped in
//	app projections cleanup          delete the leftovers of old generations and renamed projections
//	app projections redrive REACTOR SEQ
//	                                 run the effect of an event the reactor parked again, once its cause is fixed
//
// It is an HTTP client of the running app's operator routes (package
// features/projections), not a second NATS client: the embedded NATS
// server's files belong to the app process, which alone may open them, and
// with a cluster the app already knows its NATS, credentials and
// projections. Asking the app also means the rebuild runs the app's own
// projection code, the very code that serves. It reads the same config as
// the app (.env and the environment): HOST and PORT to find it, ADMIN_TOKEN
// as its Bearer token; -url overrides the address (an instance behind a
// balancer, say).

// projectionsUsage is printed for a command it does not know.
const projectionsUsage = `usage: app projections [-url URL] status | rebuild NAME | cleanup | redrive REACTOR SEQ`

// projectionsCommand runs the subcommand with args (after "projections")
// and returns the process's exit code.
func projectionsCommand(ctx context.Context, cfg config.Config, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("projections", flag.ContinueOnError)
	flags.SetOutput(stderr)
	baseURL := flags.String("url", appURL(cfg), "the running app's address")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	c := operatorClient{base: strings.TrimSuffix(*baseURL, "/"), token: cfg.AdminToken, http: &http.Client{}}
	var err error
	switch args := flags.Args(); {
	case len(args) == 1 && args[0] == "status":
		err = c.status(ctx, stdout)
	case len(args) == 2 && args[0] == "rebuild":
		err = c.rebuild(ctx, args[1], stdout)
	case len(args) == 1 && args[0] == "cleanup":
		err = c.cleanup(ctx, stdout)
	case len(args) == 3 && args[0] == "redrive":
		seq, parseErr := strconv.ParseUint(args[2], 10, 64)
		if parseErr != nil {
			fmt.Fprintf(stderr, "projections: redrive: %q is not an event's stream sequence\n%s\n", args[2], projectionsUsage)
			return 2
		}
		err = c.redrive(ctx, args[1], seq, stdout)
	default:
		fmt.Fprintln(stderr, projectionsUsage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "projections:", err)
		return 1
	}
	return 0
}

// appURL is the address the app listens on, as HOST and PORT give it; a
// wildcard host is asked on the loopback interface.
func appURL(cfg config.Config) string {
	host := cfg.Host
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(cfg.Port))
}

// operatorClient asks the app's operator routes.
type operatorClient struct {
	base, token string
	http        *http.Client
}

// send sends a request and returns the response, whatever its status.
func (c operatorClient) send(ctx context.Context, method, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("is the app running at %s? %w", c.base, err)
	}
	return resp, nil
}

// do sends a request and returns the response if it is a 200.
func (c operatorClient) do(ctx context.Context, method, path string) (*http.Response, error) {
	resp, err := c.send(ctx, method, path)
	if err != nil || resp.StatusCode == http.StatusOK {
		return resp, err
	}
	return nil, refused(method, path, resp)
}

// refused reads a response other than a 200 (and closes it) into an error
// saying why.
func refused(method, path string, resp *http.Response) error {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	// The operator gate answers anyone else as if the route did not exist.
	if resp.StatusCode == http.StatusNotFound && strings.HasPrefix(string(body), "404 page not found") {
		return fmt.Errorf("%s %s: %s: the operator routes exist only with ADMIN_TOKEN set, and this command needs the app's token", method, path, resp.Status)
	}
	return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(body)))
}

// askJSON sends a request without a body and decodes the JSON answer of
// a 200, or of one of the statuses in also whose answer is JSON (a route's
// own account of why it stopped).
func askJSON[T any](ctx context.Context, c operatorClient, method, path string, also ...int) (T, error) {
	var answer T
	resp, err := c.send(ctx, method, path)
	if err != nil {
		return answer, err
	}
	explained := slices.Contains(also, resp.StatusCode) && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")
	if resp.StatusCode != http.StatusOK && !explained {
		return answer, refused(method, path, resp)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return answer, fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	return answer, nil
}

// status prints where every projection and reactor stands.
func (c operatorClient) status(ctx context.Context, out io.Writer) error {
	report, err := askJSON[projections.Report](ctx, c, http.MethodGet, projections.StatusPath)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECTION\tGENERATION\tVERSION\tPOSITION\tLAG\tEVENTS/S\tSTATE\tPARKED\tLAST ERROR")
	for _, p := range report.Projections {
		state := p.State()
		if b := p.Rebuild; b != nil {
			state += " " + progressLine(*b)
		}
		lastError := "-"
		if p.LastError != "" {
			lastError = p.LastErrorAt.Format(time.DateTime) + " " + p.LastError
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.0f\t%s\t%d\t%s\n", p.Name, p.Generation, p.Version, p.Position, p.Lag, p.EventsPerSecond, state, p.Parked, lastError)
	}
	fmt.Fprintln(tw)
	if len(report.Reactors) == 0 {
		fmt.Fprintln(tw, "No reactors")
	} else {
		fmt.Fprintln(tw, "REACTOR\tPOSITION\tLAG\tHANDLED\tRETRYING\tPARKED")
		for _, r := range report.Reactors {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", r.Name, r.Position, r.Lag, r.Handled, r.Retrying, len(r.Parked))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case report.LeftoversError != "":
		fmt.Fprintln(out, "\nThe leftovers could not be listed:", report.LeftoversError)
	case len(report.Leftovers) == 0:
		fmt.Fprintln(out, "\nNo leftovers")
	default:
		fmt.Fprintln(out, "\nLeftovers (remove them with: app projections cleanup):")
		for _, l := range report.Leftovers {
			fmt.Fprintf(out, "  %s %s: %s\n", l.Kind, l.Name, l.Reason)
		}
	}
	return nil
}

// rebuild asks for a rebuild and prints its progress until it is swapped
// in. Interrupting the command does not stop the rebuild.
func (c operatorClient) rebuild(ctx context.Context, name string, out io.Writer) error {
	resp, err := c.do(ctx, http.MethodPost, projections.RebuildPath(name))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	fmt.Fprintf(out, "%s: rebuilding into a new generation; the current one serves meanwhile\n", name)
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		var line projections.RebuildLine
		if err := json.Unmarshal(lines.Bytes(), &line); err != nil {
			return fmt.Errorf("read the progress: %w", err)
		}
		switch {
		case line.Error != "":
			return fmt.Errorf("rebuild %s: %s", name, line.Error)
		case line.Done:
			fmt.Fprintf(out, "%s: rebuilt; generation %d serves\n", name, line.Generation)
			return nil
		case line.Progress != nil:
			fmt.Fprintf(out, "%s: %s\n", name, progressLine(*line.Progress))
		}
	}
	if ctx.Err() != nil {
		return errors.New("interrupted; the rebuild goes on in the app (app projections status shows it)")
	}
	return fmt.Errorf("the app ended the answer before the rebuild ended (%v); app projections status shows whether it goes on", lines.Err())
}

// progressLine is a rebuild's progress in a few words.
func progressLine(p projection.RebuildProgress) string {
	percent := 100.0
	if p.Total > 0 {
		percent = 100 * float64(p.Position) / float64(p.Total)
	}
	return fmt.Sprintf("generation %d: %d/%d events (%.0f%%), %d events/s", p.Generation, p.Position, p.Total, percent, p.EventsPerSecond)
}

// cleanup deletes the leftovers and prints what it deleted; a cleanup
// stopped by an error (the app's 503 with a JSON answer) prints what it
// deleted before it, then the error.
func (c operatorClient) cleanup(ctx context.Context, out io.Writer) error {
	result, err := askJSON[projections.CleanupResult](ctx, c, http.MethodPost, projections.CleanupPath, http.StatusServiceUnavailable)
	if err != nil {
		return err
	}
	for _, l := range result.Removed {
		fmt.Fprintf(out, "removed %s %s (%s)\n", l.Kind, l.Name, l.Reason)
	}
	switch {
	case result.Error != "":
		return fmt.Errorf("the cleanup stopped after removing %d: %s; run it again once NATS answers", len(result.Removed), result.Error)
	case len(result.Removed) == 0:
		fmt.Fprintln(out, "nothing to remove")
	}
	return nil
}

// redrive asks the reactor called name to run the effect of its parked
// event seq again, and says whether it ran; if it failed again, the app's
// answer says why and the event stays parked.
func (c operatorClient) redrive(ctx context.Context, name string, seq uint64, out io.Writer) error {
	result, err := askJSON[projections.RedriveResult](ctx, c, http.MethodPost, projections.RedrivePath(name, seq))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: the effect of event %d ran; it is no longer parked\n", result.Reactor, result.Seq)
	return nil
}
