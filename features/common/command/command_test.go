package command

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"ironstar/es"
)

func TestFailAnswersAFullStoreWith507AndNoRetryAfter(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	err := fmt.Errorf("eventstore: publish todo/l1: %w: maximum bytes exceeded", es.ErrStoreFull)
	Fail(rec, httptest.NewRequest(http.MethodPost, "/todos", nil), slog.New(slog.DiscardHandler), "todo-error", err, func(error) (Problem, bool) { return Problem{}, false })
	if rec.Code != http.StatusInsufficientStorage {
		t.Fatalf("code = %d; want 507", rec.Code)
	}
	if body := rec.Body.String(); !strings.Contains(body, "store is full") || strings.Contains(body, "maximum bytes") {
		t.Errorf("body = %q; want the clear message, not the store's error", body)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "" {
		t.Errorf("Retry-After = %q on a full store, which retrying will not fix", ra)
	}
}
