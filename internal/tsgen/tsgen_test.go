package tsgen

import (
	"encoding/json"
	"testing"
	"time"
)

type inner struct {
	N int `json:"n"`
}

type sample struct {
	Text     string            `json:"text"`
	Flag     bool              `json:"flag"`
	Ratio    float64           `json:"ratio"`
	Maybe    *string           `json:"maybe"`
	List     []string          `json:"list,omitempty"`
	Counts   map[string]int    `json:"counts"`
	Nested   inner             `json:"nested"`
	Many     []inner           `json:"many"`
	At       time.Time         `json:"at"`
	Raw      json.RawMessage   `json:"raw"`
	Any      any               `json:"any"`
	Local    string            `json:"_local"`
	Dashed   string            `json:"with-dash"`
	Untagged string            // encoded under its Go name
	Skipped  string            `json:"-"`
	private  string            // never encoded
	ByInt    map[int]string    `json:"byInt"`
	Deep     map[string][]bool `json:"deep"`
}

// TestGenerateDeclaresWhatEncodingJSONWrites covers each kind it maps.
func TestGenerateDeclaresWhatEncodingJSONWrites(t *testing.T) {
	got, err := Generate("// header\n", Type{Name: "SampleSignals", Value: sample{}})
	if err != nil {
		t.Fatal(err)
	}
	want := `// header

export interface SampleSignals {
  text: string;
  flag: boolean;
  ratio: number;
  maybe: string | null;
  list?: string[] | null;
  counts: Record<string, number> | null;
  nested: Sampleinner;
  many: Sampleinner[] | null;
  at: string;
  raw: unknown;
  any: unknown;
  _local: string;
  "with-dash": string;
  Untagged: string;
  byInt: unknown;
  deep: Record<string, boolean[] | null> | null;
}

export interface Sampleinner {
  n: number;
}
`
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if _, err := Generate("", Type{Name: "X", Value: 1}); err == nil {
		t.Error("a non-struct type was accepted")
	}
}
