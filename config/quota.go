package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Quotas bound what visitors can make the app store.
type Quotas struct {
	// EventsMaxBytes caps the EVENTS stream (EVENTS_MAX_BYTES); at the cap
	// commands are refused (507) and no event is ever dropped. 0: no cap.
	EventsMaxBytes int64
	// EventsWarnPercent is the share of the cap past which the log warns
	// (EVENTS_WARN_PERCENT).
	EventsWarnPercent int
	// SessionWriteRate is the commands per minute one session may send
	// (SESSION_WRITE_RATE); 0 turns the limit off.
	SessionWriteRate int
	// SessionWriteBurst is how many commands a session may send at once
	// (SESSION_WRITE_BURST).
	SessionWriteBurst int
	// SessionWriteBytes is the request-body bytes per minute one session
	// may send (SESSION_WRITE_BYTES); 0 turns the limit off.
	SessionWriteBytes int64
	// ClientWriteRate, ClientWriteBurst and ClientWriteBytes are the same
	// limits per client address (CLIENT_WRITE_RATE, CLIENT_WRITE_BURST,
	// CLIENT_WRITE_BYTES): sessions cost nothing to get, so without them
	// one client could write without limit under ever new sessions. A rate
	// of 0 turns that limit off.
	ClientWriteRate  int
	ClientWriteBurst int
	ClientWriteBytes int64
}

// Defaults of the quotas; docs/08-configuration.md lists them.
const (
	// DefaultEventsMaxBytes is a cap far above a demo's needs that still
	// stops a flood long before it fills a disk of a few GB.
	DefaultEventsMaxBytes    = 1 << 30
	DefaultEventsWarnPercent = 80
	// A person clicking fast sends a command or two a second, briefly.
	DefaultSessionWriteRate  = 120
	DefaultSessionWriteBurst = 60
	DefaultSessionWriteBytes = 256 << 10
	// A client address may be an office or a phone network behind one
	// NAT: ten busy sessions' worth.
	DefaultClientWriteRate  = 10 * DefaultSessionWriteRate
	DefaultClientWriteBurst = 10 * DefaultSessionWriteBurst
	DefaultClientWriteBytes = 10 * DefaultSessionWriteBytes
)

// parseQuotas reads the EVENTS_*, SESSION_WRITE_* and CLIENT_WRITE_* settings.
func parseQuotas(get func(key, def string) string, fail func(key, val, why string)) Quotas {
	size := func(key string, def int64) int64 {
		text := get(key, strconv.FormatInt(def, 10))
		n, err := parseBytes(text)
		if err != nil {
			fail(key, text, "must be a size such as 1GiB, 512MiB or 1048576 (bytes), or 0 for none")
		}
		return n
	}
	const perMinute = "must be a number of commands per minute, or 0 for no limit"
	const burst = "must be a number of commands of at least 1"
	q := Quotas{
		EventsMaxBytes:    size("EVENTS_MAX_BYTES", DefaultEventsMaxBytes),
		EventsWarnPercent: count(get, fail, "EVENTS_WARN_PERCENT", DefaultEventsWarnPercent, 1, "must be a percentage from 1 to 99"),
		SessionWriteRate:  count(get, fail, "SESSION_WRITE_RATE", DefaultSessionWriteRate, 0, perMinute),
		SessionWriteBurst: count(get, fail, "SESSION_WRITE_BURST", DefaultSessionWriteBurst, 1, burst),
		SessionWriteBytes: size("SESSION_WRITE_BYTES", DefaultSessionWriteBytes),
		ClientWriteRate:   count(get, fail, "CLIENT_WRITE_RATE", DefaultClientWriteRate, 0, perMinute),
		ClientWriteBurst:  count(get, fail, "CLIENT_WRITE_BURST", DefaultClientWriteBurst, 1, burst),
		ClientWriteBytes:  size("CLIENT_WRITE_BYTES", DefaultClientWriteBytes),
	}
	if q.EventsMaxBytes > 0 && q.EventsMaxBytes < 1<<20 {
		fail("EVENTS_MAX_BYTES", get("EVENTS_MAX_BYTES", ""), "must be at least 1MiB, or 0 for no cap")
	}
	if q.EventsWarnPercent > 99 {
		fail("EVENTS_WARN_PERCENT", strconv.Itoa(q.EventsWarnPercent), "must be a percentage from 1 to 99")
	}
	return q
}

// parseBytes reads a size: a number of bytes, optionally with a unit
// (KiB, MiB, GiB, TiB, or KB, MB, GB, TB in powers of ten).
func parseBytes(text string) (int64, error) {
	units := []struct {
		suffix string
		factor int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
	}
	number, factor := strings.TrimSpace(text), int64(1)
	for _, u := range units {
		if strings.HasSuffix(number, u.suffix) {
			number, factor = strings.TrimSpace(strings.TrimSuffix(number, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(number, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/factor {
		return 0, fmt.Errorf("not a size: %q", text)
	}
	return n * factor, nil
}
