package config

import (
	"strings"
	"testing"
)

func TestParseQuotas(t *testing.T) {
	t.Parallel()
	cfg, err := Parse(lookup(map[string]string{
		"EVENTS_MAX_BYTES": "512MiB", "EVENTS_WARN_PERCENT": "70",
		"SESSION_WRITE_RATE": "0", "SESSION_WRITE_BURST": "5", "SESSION_WRITE_BYTES": "64KiB",
		"CLIENT_WRITE_RATE": "600", "CLIENT_WRITE_BURST": "50", "CLIENT_WRITE_BYTES": "0",
	}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := Quotas{EventsMaxBytes: 512 << 20, EventsWarnPercent: 70, SessionWriteRate: 0, SessionWriteBurst: 5, SessionWriteBytes: 64 << 10,
		ClientWriteRate: 600, ClientWriteBurst: 50, ClientWriteBytes: 0}
	if cfg.Quotas != want {
		t.Errorf("Quotas = %+v, want %+v", cfg.Quotas, want)
	}
}

func TestParseQuotasRejectsBadValuesNamingTheVariable(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"EVENTS_MAX_BYTES":    "lots",
		"EVENTS_WARN_PERCENT": "100",
		"SESSION_WRITE_RATE":  "-1",
		"SESSION_WRITE_BURST": "0",
		"SESSION_WRITE_BYTES": "1.5MiB",
		"CLIENT_WRITE_RATE":   "fast",
		"CLIENT_WRITE_BURST":  "0",
		"CLIENT_WRITE_BYTES":  "-5",
	}
	for key, val := range cases {
		_, err := Parse(lookup(map[string]string{key: val}))
		if err == nil || !strings.Contains(err.Error(), key+`="`+val+`"`) {
			t.Errorf("%s=%s: error %v; want one naming it", key, val, err)
		}
	}
	if _, err := Parse(lookup(map[string]string{"EVENTS_MAX_BYTES": "4KiB"})); err == nil || !strings.Contains(err.Error(), "at least 1MiB") {
		t.Errorf("a 4 KiB cap: error %v; want at least 1MiB", err)
	}
}

func TestParseBytes(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]int64{"0": 0, "1048576": 1 << 20, "8MiB": 8 << 20, "1 GiB": 1 << 30, "2GB": 2e9, "10KB": 10e3, "512B": 512} {
		if got, err := parseBytes(text); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", text, got, err, want)
		}
	}
	for _, text := range []string{"", "-1", "1.5GiB", "GiB", "9999999TiB"} {
		if _, err := parseBytes(text); err == nil {
			t.Errorf("parseBytes(%q) accepted", text)
		}
	}
}
