package main

import (
	"bytes"
	"os"
	"testing"

	"ironstar/internal/tsgen"
)

// TestTheGeneratedSignalsAreCurrent: the committed declarations are what
// the Go structs generate (run go run ./cmd/signals after changing one).
func TestTheGeneratedSignalsAreCurrent(t *testing.T) {
	want, err := tsgen.Generate(header, pages...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../" + out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go run ./cmd/signals\nwant:\n%s", out, want)
	}
}
