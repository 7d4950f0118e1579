package components

import (
	"bytes"
	"encoding/json"
)

// IndentJSON is data (an event's payload, say) as indented JSON, or as it
// is when it is not JSON, for a page to show in a <pre>.
func IndentJSON(data []byte) []byte {
	var b bytes.Buffer
	if err := json.Indent(&b, data, "", "  "); err != nil {
		return data
	}
	return b.Bytes()
}
