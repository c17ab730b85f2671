package grafana_test

import (
	"strings"
	"testing"

	"crmwatch/dashboards/grafana"
)

// FuzzParseAccess feeds arbitrary access files to the loader: an error or
// an access list of operator teams and users only, never a panic.
func FuzzParseAccess(f *testing.F) {
	f.Add([]byte("format: crmwatch.grafana-access/v1\nfolder: {uid: crmwatch, title: crmwatch}\noperators:\n  - {team: crm-noc, permission: view}\n  - {user: alice, permission: edit}\n"))
	f.Add([]byte("format: crmwatch.grafana-access/v1\noperators: [{role: Viewer, permission: view}]\n"))
	f.Add([]byte("format: crmwatch.grafana-access/v1\noperators: [{team: Editor, permission: edit}, {team: a, user: b, permission: admin}]\n"))
	f.Add([]byte("format: crmwatch.grafana-access/v1\nfolder: {uid: 'a/b'}\noperators: []\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := grafana.ParseAccess(data)
		if err != nil {
			return
		}
		if len(a.Operators) == 0 || a.Folder.UID == "" || a.Folder.Title == "" {
			t.Fatalf("accepted without operators or folder: %+v", a)
		}
		seen := map[string]bool{}
		for _, o := range a.Operators {
			if (o.Team == "") == (o.User == "") || (o.Permission != grafana.PermView && o.Permission != grafana.PermEdit) {
				t.Fatalf("accepted a principal that is not one operator team or user with view or edit: %+v", o)
			}
			for _, role := range []string{"viewer", "editor", "admin"} {
				if strings.ToLower(o.Team) == role {
					t.Fatalf("accepted team %q", o.Team)
				}
			}
			if seen[o.Principal()] {
				t.Fatalf("accepted %s twice", o.Principal())
			}
			seen[o.Principal()] = true
		}
	})
}
