package todo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxBody bounds a command's request body: the page's signals with a
// 500-character text fit many times over.
const maxBody = 16 << 10

// signals are the page's signals that commands read.
type signals struct {
	// Title is the new todo's text.
	Title string `json:"title"`
	// Edit is the edited todo's text.
	Edit string `json:"edit"`
}

// Errors of decodeSignals, mapped to 413 and 400.
var (
	errTooLarge  = errors.New("request body too large")
	errMalformed = errors.New("malformed signals")
)

// decodeSignals reads the JSON signals Datastar sends as the body of every
// non-GET request (DELETE included, which datastar-go's ReadSignals would
// look for in the query string).
func decodeSignals(body io.Reader) (signals, error) {
	var s signals
	data, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return s, errTooLarge
		}
		return s, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if len(data) > maxBody {
		return s, errTooLarge
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("%w: %v", errMalformed, err)
	}
	return s, nil
}
