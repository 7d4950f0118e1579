package projection

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// CatchUp logs a follower's way through a backlog of events at info: a
// line when it finds itself at least Behind events behind, one every
// Every while it stays behind (position / total, events per second, time
// left), and one when it has caught up. A follower up to date logs nothing.
// Projection runners log through one; so does the analytics copy.
type CatchUp struct {
	logger *slog.Logger
	what   string
	every  time.Duration
	behind uint64

	active  atomic.Bool // read by Behind from any goroutine
	began   time.Time
	beganAt uint64
	lastAt  time.Time
	lastPos uint64
}

// NewCatchUp returns a CatchUp logging what ("projection", "analytics") is
// doing, every interval while at least behind events behind.
func NewCatchUp(logger *slog.Logger, what string, every time.Duration, behind uint64) *CatchUp {
	return &CatchUp{logger: logger, what: what, every: every, behind: max(behind, 1)}
}

// Observe reports the follower's position (the stream sequence of the last
// event it stored) and the total it is heading for (the stream's last
// sequence). It is called from one goroutine.
func (c *CatchUp) Observe(position, total uint64) {
	now := time.Now()
	left := total - min(position, total)
	if !c.active.Load() {
		if left < c.behind {
			return
		}
		c.active.Store(true)
		c.began, c.beganAt, c.lastAt, c.lastPos = now, position, now, position
		c.logger.Info(c.what+": catching up", "position", position, "total", total, "behind", left)
		return
	}
	// Caught up within a tenth of the threshold: under traffic, a follower
	// is rarely exactly at the end when it looks.
	if left*10 < c.behind {
		c.active.Store(false)
		took := now.Sub(c.began)
		c.logger.Info(c.what+": caught up", "position", position, "total", total, "events", position-c.beganAt,
			"took", took.Round(time.Millisecond), "events_per_second", perSecond(position-c.beganAt, took))
		return
	}
	if now.Sub(c.lastAt) < c.every {
		return
	}
	rate := perSecond(position-min(c.lastPos, position), now.Sub(c.lastAt))
	timeLeft := "unknown"
	if rate > 0 {
		timeLeft = time.Duration(float64(left) / float64(rate) * float64(time.Second)).Round(time.Second).String()
	}
	c.logger.Info(c.what+": catching up", "position", position, "total", total, "behind", left,
		"events_per_second", rate, "time_left", timeLeft)
	c.lastAt, c.lastPos = now, position
}

// Behind reports whether the follower is catching up: it was last seen at
// least the threshold behind, and has not caught up since.
func (c *CatchUp) Behind() bool { return c.active.Load() }

// perSecond is n per d, rounded down; 0 for no time.
func perSecond(n uint64, d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64(float64(n) / d.Seconds())
}
