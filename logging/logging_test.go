package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestJSONLinesParseAndCarryTheRequestID(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	logger := New(&out, JSON, slog.LevelInfo).With("process", "app")
	logger.InfoContext(WithRequestID(context.Background(), "req-1"), "served", "path", "/todo")
	logger.Info("no request")

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), out.String())
	}
	var served, other map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &served); err != nil {
		t.Fatalf("line 1 is not JSON: %v\n%s", err, lines[0])
	}
	if err := json.Unmarshal([]byte(lines[1]), &other); err != nil {
		t.Fatalf("line 2 is not JSON: %v\n%s", err, lines[1])
	}
	if served[RequestIDKey] != "req-1" || served["msg"] != "served" || served["path"] != "/todo" || served["process"] != "app" {
		t.Errorf("line logged with a request's context = %v", served)
	}
	if _, ok := other[RequestIDKey]; ok {
		t.Errorf("a line logged without a request has a request ID: %v", other)
	}
}

func TestTextLinesCarryTheRequestID(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	New(&out, Text, slog.LevelInfo).WarnContext(WithRequestID(context.Background(), "req-2"), "slow")
	if !strings.Contains(out.String(), "request_id=req-2") || strings.HasPrefix(out.String(), "{") {
		t.Errorf("text line = %q, want key=value with request_id=req-2", out.String())
	}
}
