package engine

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"ironstar/features/analytics/dashboard"
	"ironstar/features/todo"
)

// Window is how far back the time-based figures look.
const Window = 30 * time.Minute

// Dashboard runs the page's queries as of now.
func (s *Store) Dashboard(ctx context.Context, now time.Time) (dashboard.Dashboard, error) {
	d := dashboard.Dashboard{ComputedAt: now}
	since := now.Add(-Window).UTC()
	if err := s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(max(seq), 0) FROM events`).Scan(&d.Events, &d.Seq); err != nil {
		return d, fmt.Errorf("analytics: totals: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT date_trunc('minute', occurred_at) AS minute, type, count(*)
		FROM events WHERE occurred_at >= ? GROUP BY ALL ORDER BY minute, type`, since)
	if err != nil {
		return d, fmt.Errorf("analytics: per minute: %w", err)
	}
	for rows.Next() {
		var c dashboard.TypeCount
		if err := rows.Scan(&c.Minute, &c.Type, &c.Count); err != nil {
			rows.Close()
			return d, err
		}
		d.PerMinute = append(d.PerMinute, c)
	}
	rows.Close()

	rows, err = s.db.QueryContext(ctx, `
		SELECT date_trunc('minute', occurred_at) AS minute,
		       count(*) FILTER (WHERE type = $added),
		       count(*) FILTER (WHERE type = $completed)
		FROM events WHERE occurred_at >= $since AND type IN ($added, $completed)
		GROUP BY ALL ORDER BY minute`,
		sql.Named("since", since), sql.Named("added", todo.TypeAdded), sql.Named("completed", todo.TypeCompleted))
	if err != nil {
		return d, fmt.Errorf("analytics: todo flow: %w", err)
	}
	for rows.Next() {
		var f dashboard.Flow
		if err := rows.Scan(&f.Minute, &f.Added, &f.Completed); err != nil {
			rows.Close()
			return d, err
		}
		d.TodoFlow = append(d.TodoFlow, f)
	}
	rows.Close()

	if err := s.db.QueryRowContext(ctx, `SELECT count(DISTINCT session) FROM events WHERE occurred_at >= ? AND session <> ''`, since).Scan(&d.ActiveSessions); err != nil {
		return d, fmt.Errorf("analytics: sessions: %w", err)
	}

	rows, err = s.db.QueryContext(ctx, `
		SELECT id, count(*) AS n FROM events WHERE aggregate = ?
		GROUP BY id ORDER BY n DESC, id LIMIT 5`, todo.Aggregate)
	if err != nil {
		return d, fmt.Errorf("analytics: busiest lists: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l dashboard.ListCount
		if err := rows.Scan(&l.List, &l.Events); err != nil {
			return d, err
		}
		d.BusiestLists = append(d.BusiestLists, l)
	}
	return d, rows.Err()
}
