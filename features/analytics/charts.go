package analytics

import (
	"fmt"
	"sort"
	"time"

	"ironstar/features/analytics/dashboard"
)

// The charts' options and specs, built on the server from a Dashboard and
// sent to the page as signals: the components only draw them.

// perMinuteOption is an ECharts stacked bar chart of events per minute by
// type.
func perMinuteOption(d dashboard.Dashboard) map[string]any {
	var minutes []string
	index := map[time.Time]int{}
	types := map[string]map[int]int{}
	for _, c := range d.PerMinute {
		i, ok := index[c.Minute]
		if !ok {
			i = len(minutes)
			index[c.Minute] = i
			minutes = append(minutes, c.Minute.UTC().Format("15:04"))
		}
		if types[c.Type] == nil {
			types[c.Type] = map[int]int{}
		}
		types[c.Type][i] = c.Count
	}
	names := make([]string, 0, len(types))
	for t := range types {
		names = append(names, t)
	}
	sort.Strings(names)
	series := []map[string]any{}
	for _, t := range names {
		data := make([]int, len(minutes))
		for i, n := range types[t] {
			data[i] = n
		}
		series = append(series, map[string]any{"name": t, "type": "bar", "stack": "events", "data": data})
	}
	return map[string]any{
		"title":   map[string]any{"text": "Events per minute, by type", "left": "center", "textStyle": map[string]any{"fontSize": 14}},
		"tooltip": map[string]any{"trigger": "axis"},
		"legend":  map[string]any{"bottom": 0, "type": "scroll"},
		"grid":    map[string]any{"left": 48, "right": 16, "top": 40, "bottom": 56},
		"xAxis":   map[string]any{"type": "category", "data": minutes, "name": "minute (UTC)", "nameLocation": "middle", "nameGap": 28},
		"yAxis":   map[string]any{"type": "value", "name": "events", "minInterval": 1},
		"series":  series,
	}
}

// busiestListsOption is an ECharts bar chart of the busiest todo lists, as
// v sees it: its own list is "yours", every other one only its rank. A
// list's ID is its session's public ID, which names the session's events
// and streams: it never goes to another visitor, not even in part.
func busiestListsOption(d dashboard.Dashboard, v viewer) map[string]any {
	lists, counts := []string{}, []int{}
	for i := len(d.BusiestLists) - 1; i >= 0; i-- { // largest at the top
		l := d.BusiestLists[i]
		name := fmt.Sprintf("list #%d", i+1)
		if v != "" && l.List == string(v) {
			name = "yours"
		}
		lists = append(lists, name)
		counts = append(counts, l.Events)
	}
	return map[string]any{
		"title":   map[string]any{"text": "Busiest todo lists", "left": "center", "textStyle": map[string]any{"fontSize": 14}},
		"tooltip": map[string]any{"trigger": "axis"},
		"grid":    map[string]any{"left": 96, "right": 24, "top": 40, "bottom": 40},
		"xAxis":   map[string]any{"type": "value", "name": "events", "minInterval": 1, "nameLocation": "middle", "nameGap": 28},
		"yAxis":   map[string]any{"type": "category", "data": lists, "name": "list"},
		"series":  []map[string]any{{"type": "bar", "data": counts, "name": "events"}},
	}
}

// todoFlowSpec is a Vega-Lite line chart of todos added and completed.
func todoFlowSpec(d dashboard.Dashboard) map[string]any {
	values := []map[string]any{}
	for _, f := range d.TodoFlow {
		at := f.Minute.UTC().Format(time.RFC3339)
		values = append(values,
			map[string]any{"minute": at, "kind": "added", "todos": f.Added},
			map[string]any{"minute": at, "kind": "completed", "todos": f.Completed})
	}
	return map[string]any{
		"title":      "Todos added and completed, per minute",
		"width":      "container",
		"height":     220,
		"background": "transparent",
		"data":       map[string]any{"values": values},
		"mark":       map[string]any{"type": "line", "point": true},
		"encoding": map[string]any{
			"x":     map[string]any{"field": "minute", "type": "temporal", "title": "minute (UTC)", "timeUnit": "utchoursminutes"},
			"y":     map[string]any{"field": "todos", "type": "quantitative", "title": "todos", "axis": map[string]any{"tickMinStep": 1}},
			"color": map[string]any{"field": "kind", "type": "nominal", "title": nil},
		},
	}
}
