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
	progress := regexp.MustCompile(fmt.Sprintf(`msg="projection: catching up" projection=behind position=\d+ total=%d behind=\d+ events_per_second=\d+ time_left=\S+`, last))
	if !progress.MatchString(logs.String()) {
		t.Errorf("no progress line with position, total, rate and time left:\n%s", logs)
	}
	// Caught up means within a tenth of MaxBatch of the end.
	caughtUp := regexp.MustCompile(`msg="projection: caught up" projection=behind position=(\d+) total=(\d+) events=\d+`)
	var position, total uint64
	if m := caughtUp.FindStringSubmatch(logs.String()); m != nil {
		fmt.Sscan(m[1], &position)
		fmt.Sscan(m[2], &total)
	}
	if logs.Count("caught up") != 1 || total != last || position+uint64(o.MaxBatch/10) < last {
		t.Errorf("want one caught-up line within %d of %d:\n%s", o.MaxBatch/10, last, logs)
	}
	if r.CatchingUp() {
		t.Error("the runner says it is catching up after it logged that it caught up")
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

func TestCatchUpIsBehindFromItsThresholdUntilItHasCaughtUp(t *testing.T) {
	t.Parallel()
	logs := &logbuf.Buffer{}
	c := projection.NewCatchUp(slog.New(slog.NewTextHandler(logs, nil)), "test", time.Hour, 100)
	for _, step := range []struct {
		position, total uint64
		behind          bool
	}{
		{0, 99, false},     // less than the threshold behind
		{0, 1000, true},    // far behind
		{950, 1000, true},  // still 50 behind
		{995, 1000, false}, // within a tenth of the threshold: caught up
		{995, 1010, false},
	} {
		c.Observe(step.position, step.total)
		if c.Behind() != step.behind {
			t.Errorf("at %d of %d: Behind() = %v, want %v\n%s", step.position, step.total, c.Behind(), step.behind, logs)
		}
	}
	if logs.Count("test: catching up") != 1 || logs.Count("test: caught up") != 1 {
		t.Errorf("want one line on falling behind and one on catching up (none meanwhile: an hour apart):\n%s", logs)
	}
}
