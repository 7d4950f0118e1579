package analytics

import (
	"strings"
	"testing"

	"ironstar/features/analytics/dashboard"
)

func TestBusiestListsNameOnlyTheViewersOwn(t *testing.T) {
	t.Parallel()
	d := dashboard.Dashboard{BusiestLists: []dashboard.ListCount{
		{List: "AliceSecretList1", Events: 9},
		{List: "MyOwnListId00002", Events: 5},
		{List: "BobSecretList003", Events: 2},
	}}
	cases := []struct {
		name   string
		viewer viewer
		want   string // the chart's categories, smallest first
	}{
		{"a viewer with a busy list", "MyOwnListId00002", `"data":["list #3","yours","list #1"]`},
		{"a viewer whose list is not among them", "SomeoneElse00004", `"data":["list #3","list #2","list #1"]`},
		{"a viewer without a session", "", `"data":["list #3","list #2","list #1"]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			frame := string(render(status{Dashboard: d, Running: true}, tc.viewer).Data)
			if !strings.Contains(frame, tc.want) || !strings.Contains(frame, `"data":[2,5,9]`) {
				t.Errorf("frame for %q lacks %s and the counts:\n%s", tc.viewer, tc.want, frame)
			}
			// No list's ID, nor its first characters (the chart once
			// showed 8): the viewer's own is "yours".
			for _, l := range d.BusiestLists {
				if strings.Contains(frame, l.List[:4]) {
					t.Errorf("frame for %q shows %q's ID:\n%s", tc.viewer, l.List, frame)
				}
			}
		})
	}
}
