package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseAdmission(t *testing.T) {
	t.Parallel()
	cfg, err := Parse(lookup(map[string]string{"COMMAND_MAX_INFLIGHT": "3", "COMMAND_MAX_QUEUED": "0", "COMMAND_QUEUE_TIMEOUT": "1s"}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if want := (Admission{MaxInFlight: 3, MaxQueued: 0, QueueTimeout: time.Second}); cfg.Admission != want {
		t.Errorf("Admission = %+v, want %+v", cfg.Admission, want)
	}
	// The queue follows the places unless set.
	if cfg, _ := Parse(lookup(map[string]string{"COMMAND_MAX_INFLIGHT": "5"})); cfg.Admission.MaxQueued != 5*DefaultCommandsQueuedPerInFlight {
		t.Errorf("COMMAND_MAX_INFLIGHT=5 alone queues %d", cfg.Admission.MaxQueued)
	}
}

func TestParseAdmissionRejectsBadValuesNamingTheVariable(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"COMMAND_MAX_INFLIGHT":  "-1",
		"COMMAND_MAX_QUEUED":    "many",
		"COMMAND_QUEUE_TIMEOUT": "0s",
	}
	for key, val := range cases {
		_, err := Parse(lookup(map[string]string{key: val}))
		if err == nil || !strings.Contains(err.Error(), key+`="`+val+`"`) {
			t.Errorf("%s=%s: error %v; want one naming it", key, val, err)
		}
	}
	if _, err := Parse(lookup(map[string]string{"COMMAND_QUEUE_TIMEOUT": "1m"})); err == nil {
		t.Error("a queue timeout of a minute was accepted")
	}
}
