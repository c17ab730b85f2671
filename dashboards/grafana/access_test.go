package grafana_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"crmwatch/dashboards/grafana"
)

// TestExportCarriesOperatorsOnly: the access file admits only operator
// teams and users (no role, customer or organization-wide principal), and
// the export carries exactly those: the manifest names them and nobody
// else, and no dashboard JSON names any principal.
func TestExportCarriesOperatorsOnly(t *testing.T) {
	for data, want := range map[string]string{
		"format: crmwatch.grafana-access/v1\noperators: [{role: Viewer, permission: view}]\n":                         "field role not found",
		"format: crmwatch.grafana-access/v1\noperators: [{customer: contoso, permission: view}]\n":                    "field customer not found",
		"format: crmwatch.grafana-access/v1\noperators: [{org: 1, permission: view}]\n":                               "field org not found",
		"format: crmwatch.grafana-access/v1\noperators: [{team: Editor, permission: edit}]\n":                         "looks like an organization role",
		"format: crmwatch.grafana-access/v1\noperators: [{team: a, user: b, permission: view}]\n":                     "exactly one of team and user",
		"format: crmwatch.grafana-access/v1\noperators: [{team: a, permission: admin}]\n":                             "permission must be view or edit",
		"format: crmwatch.grafana-access/v1\noperators: [{team: a, permission: view}, {team: a, permission: edit}]\n": "team:a is listed twice",
		"format: crmwatch.grafana-access/v1\nviewers: [everyone]\noperators: [{team: a, permission: view}]\n":         "field viewers not found",
		"format: other\noperators: [{team: a, permission: view}]\n":                                                   "format must be crmwatch.grafana-access/v1",
	} {
		if _, err := grafana.ParseAccess([]byte(data)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", data, err, want)
		}
	}

	a := testAccess(t)
	dir := t.TempDir()
	if _, err := grafana.Export(dir, builtin(t), a, ""); err != nil {
		t.Fatal(err)
	}
	var m grafana.Manifest
	data, err := os.ReadFile(filepath.Join(dir, "permissions.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Operators, a.Operators) {
		t.Errorf("manifest principals %+v, want exactly %+v", m.Operators, a.Operators)
	}
	if !reflect.DeepEqual(m.RemovedRoles, []string{"Viewer", "Editor"}) {
		t.Errorf("manifest does not remove the organization-wide roles: %v", m.RemovedRoles)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "dashboards", "*.json"))
	for _, f := range files {
		body, _ := os.ReadFile(f)
		for _, leak := range []string{`"permissions"`, `"acl"`, `"role"`, "crm-noc", "alice"} {
			if strings.Contains(string(body), leak) {
				t.Errorf("%s names a principal (%s): dashboards carry none", filepath.Base(f), leak)
			}
		}
	}
}
