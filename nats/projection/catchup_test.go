package projection_test

import (
	"fmt"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"ironstar/internal/logbuf"
	"ironstar/internal/poll"
	"ironstar/nats/eventstore"
	"ironstar/nats/natstest"
	"ironstar/nats/projection"
)

func TestARunnerFarBehindLogsItsProgressThenThatItCaughtUp(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	if _, err := eventstore.New(t.Context(), conn.JS, eventstore.Config{}); err != nil {
		t.Fatal(err)
	}
	last := natstest.Fill(t, conn.JS, "item", 1000, 10)
	logs := &logbuf.Buffer{}
	o := opts()
	o.BatchSize, o.MaxBatch = 10, 100 // the runner starts 900 behind, 9 batches
	o.ProgressEvery = time.Nanosecond
	o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	r, err := projection.Start(t.Context(), conn.JS, tallyProjection("behind"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(t.Context()) })
	waitFor(t, r, last)
	poll.Until(t, 10*time.Second, "a caught-up line", func() bool { return logs.Count("caught up") > 0 })
	progress := regexp.MustCompile(fmt.Sprintf(`msg="projection: catching up" projection=behind generation=1 position=\d+ total=%d behind=\d+ events_per_second=\d+ time_left=\S+`, last))
	if !progress.MatchString(logs.String()) {
		t.Errorf("no progress line with position, total, rate and time left:\n%s", logs)
	}
	caughtUp := regexp.MustCompile(fmt.Sprintf(`msg="projection: caught up" projection=behind generation=1 position=%d total=%d events=\d+`, last, last))
	if !caughtUp.MatchString(logs.String()) || logs.Count("caught up") != 1 {
		t.Errorf("want one caught-up line at 1000:\n%s", logs)
	}
}

func TestARunnerUpToDateLogsNoProgress(t *testing.T) {
	t.Parallel()
	conn := natstest.Connect(t)
	if _, err := eventstore.New(t.Context(), conn.JS, eventstore.Config{}); err != nil {
		t.Fatal(err)
	}
	logs := &logbuf.Buffer{}
	o := opts()
	o.ProgressEvery = time.Nanosecond
	o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	r, err := projection.Start(t.Context(), conn.JS, tallyProjection("current"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(t.Context()) })
	waitFor(t, r, natstest.Fill(t, conn.JS, "item", 20, 10)) // less than a batch behind at a time
	if logs.Count("catching up")+logs.Count("caught up") != 0 {
		t.Errorf("a runner less than a batch behind logged progress:\n%s", logs)
	}
}
