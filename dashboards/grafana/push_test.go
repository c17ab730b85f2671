package grafana_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"crmwatch/dashboards/grafana"
	"crmwatch/dashboards/grafana/grafanatest"
	"crmwatch/secret"
)

const testToken = "glsa_test_token_0123456789"

// operatorsOrg is a Grafana organization of operators only: alice (a
// declared user) and bob and carol (members of the declared team crm-noc).
func operatorsOrg(t *testing.T) *grafanatest.Server {
	t.Helper()
	g := grafanatest.New(testToken,
		[]grafanatest.User{{ID: 1, Login: "alice", Role: "Admin"}, {ID: 2, Login: "bob", Role: "Viewer"}, {ID: 3, Login: "carol", Role: "Editor"}},
		[]grafanatest.Team{{ID: 7, Name: "crm-noc", Members: []int64{2, 3}}, {ID: 8, Name: "other", Members: []int64{3}}})
	t.Cleanup(g.Close)
	return g
}

func client(t *testing.T, url, token string) *grafana.Client {
	t.Helper()
	c, err := grafana.NewClient(grafana.ClientOptions{URL: url, Token: secret.New(token), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func push(t *testing.T, g *grafanatest.Server, a *grafana.Access, dry bool) (*grafana.PushReport, error) {
	t.Helper()
	return grafana.Push(context.Background(), client(t, g.URL, testToken), builtin(t), a, grafana.PushOptions{DryRun: dry})
}

func ops(r *grafana.PushReport) map[string]int {
	n := map[string]int{}
	for _, a := range r.Actions {
		n[a.Op]++
	}
	return n
}

// wantOperatorACL: the folder's ACL is exactly the access file's team and
// user (crm-noc view, alice edit): no organization role, nobody else.
func wantOperatorACL(t *testing.T, g *grafanatest.Server) {
	t.Helper()
	got := g.ACL("crmwatch")
	want := []grafanatest.Grant{{TeamID: 7, Permission: 1}, {UserID: 1, Permission: 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("folder ACL %v, want exactly %v", got, want)
	}
}

// TestPushIdempotent: the first push creates the folder, replaces its ACL
// by exactly the operators (Grafana's default Viewer and Editor grants
// removed) and creates the dashboards in it; the second changes nothing,
// sends no write and says so.
func TestPushIdempotent(t *testing.T) {
	g := operatorsOrg(t)
	a := testAccess(t)
	r, err := push(t, g, a, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := ops(r); n["create-folder"] != 1 || n["set-permissions"] != 1 || n["create-dashboard"] != 10 || len(r.Actions) != 12 {
		t.Errorf("first push: %+v", r.Actions)
	}
	for _, act := range r.Actions {
		if act.Op == "set-permissions" && (!strings.Contains(act.Detail, "- organization role Viewer view") || !strings.Contains(act.Detail, "- organization role Editor edit") ||
			!strings.Contains(act.Detail, "+ team crm-noc view") || !strings.Contains(act.Detail, "+ user alice edit")) {
			t.Errorf("permissions change not explained: %s", act.Detail)
		}
	}
	wantOperatorACL(t, g)
	if f := g.Folder("crmwatch"); f == nil || f.Title != "crmwatch" {
		t.Errorf("folder %+v", f)
	}
	for _, d := range builtin(t) {
		if sd := g.Dashboard(d.UID); sd == nil || sd.FolderUID != "crmwatch" || sd.Model["title"] != d.Title {
			t.Errorf("dashboard %s not in the folder: %+v", d.UID, sd)
		}
	}
	// Permissions land before any dashboard.
	w := g.Writes()
	if len(w) < 3 || w[0] != "POST /api/folders" || w[1] != "POST /api/folders/crmwatch/permissions" || w[2] != "POST /api/dashboards/db" {
		t.Errorf("writes in order %v, want folder, permissions, then dashboards", w)
	}

	before := len(g.Writes())
	r, err = push(t, g, a, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Actions) != 0 || r.Unchanged != 10 || len(g.Writes()) != before {
		t.Errorf("second push changed something: %+v, writes %v", r.Actions, g.Writes()[before:])
	}
	var out bytes.Buffer
	r.Print(&out)
	if !strings.Contains(out.String(), "nothing to change") || !strings.Contains(out.String(), "exactly 2 operator principals") {
		t.Errorf("second push says:\n%s", out.String())
	}
}

// TestPushRestoresDrift: changes made in Grafana (a role grant back on the
// folder, a renamed folder, an edited dashboard) are undone, the dashboard
// update carrying the version it read; dashboards no pack defines are left
// alone and named.
func TestPushRestoresDrift(t *testing.T) {
	g := operatorsOrg(t)
	a := testAccess(t)
	if _, err := push(t, g, a, false); err != nil {
		t.Fatal(err)
	}
	g.SetACL("crmwatch", append(g.ACL("crmwatch"), grafanatest.Grant{Role: "Viewer", Permission: 1}, grafanatest.Grant{TeamID: 8, Permission: 2}))
	g.EditDashboard("crmwatch-crm-overview", "edited in the UI")
	g.SetDashboardACL("crmwatch-crm-alerts", []grafanatest.Grant{{Role: "Viewer", Permission: 1}, {TeamID: 8, Permission: 2}})
	g.PutDashboard("someones-own", "Someone's own", "crmwatch", false)
	a.Folder.Title = "CRM operators"
	r, err := push(t, g, a, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := ops(r); n["rename-folder"] != 1 || n["set-permissions"] != 1 || n["update-dashboard"] != 1 || n["reset-dashboard-permissions"] != 1 || len(r.Actions) != 4 {
		t.Errorf("actions %+v", r.Actions)
	}
	wantOperatorACL(t, g)
	if own := g.DashboardACL("crmwatch-crm-alerts"); len(own) != 0 {
		t.Errorf("dashboard keeps its own grants %v", own)
	}
	if d := g.Dashboard("crmwatch-crm-overview"); d.Model["title"] != "Dynamics CRM farm overview" || d.Model["version"] != float64(3) {
		t.Errorf("dashboard not restored: title %v version %v", d.Model["title"], d.Model["version"])
	}
	if g.Folder("crmwatch").Title != "CRM operators" {
		t.Error("folder not renamed")
	}
	if !reflect.DeepEqual(r.Unmanaged, []string{"someones-own"}) || g.Dashboard("someones-own") == nil {
		t.Errorf("unmanaged %v", r.Unmanaged)
	}
	var out bytes.Buffer
	r.Print(&out)
	for _, want := range []string{"- organization role Viewer view", "- team other edit",
		"reset-dashboard-permissions crmwatch-crm-alerts: - organization role Viewer view, - team other edit (it keeps the folder's)", "left alone: 1 dashboard(s) in folder crmwatch that no pack defines (someones-own)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
}

// TestPushDryRun: --dry-run reads Grafana, says what would change and
// sends no write, on an empty Grafana and on a drifted one.
func TestPushDryRun(t *testing.T) {
	g := operatorsOrg(t)
	a := testAccess(t)
	r, err := push(t, g, a, true)
	if err != nil {
		t.Fatal(err)
	}
	if n := ops(r); n["create-folder"] != 1 || n["set-permissions"] != 1 || n["create-dashboard"] != 10 {
		t.Errorf("dry run on an empty Grafana: %+v", r.Actions)
	}
	if w := g.Writes(); len(w) != 0 || g.Folder("crmwatch") != nil {
		t.Fatalf("dry run wrote %v", w)
	}
	var out bytes.Buffer
	r.Print(&out)
	if !strings.Contains(out.String(), "dry run: nothing was changed") || !strings.Contains(out.String(), "create-dashboard crmwatch-crm-overview") ||
		!strings.Contains(out.String(), "Viewer: view, Editor: edit") {
		t.Errorf("dry run says:\n%s", out.String())
	}

	if _, err := push(t, g, a, false); err != nil {
		t.Fatal(err)
	}
	g.SetACL("crmwatch", []grafanatest.Grant{{Role: "Editor", Permission: 2}})
	g.SetDashboardACL("crmwatch-crm-agents", []grafanatest.Grant{{Role: "Viewer", Permission: 1}})
	before := len(g.Writes())
	if r, err = push(t, g, a, true); err != nil {
		t.Fatal(err)
	}
	if n := ops(r); n["set-permissions"] != 1 || n["reset-dashboard-permissions"] != 1 || len(r.Actions) != 2 || len(g.Writes()) != before {
		t.Errorf("dry run on drift: %+v, writes %v", r.Actions, g.Writes()[before:])
	}
	if got := g.ACL("crmwatch"); !reflect.DeepEqual(got, []grafanatest.Grant{{Role: "Editor", Permission: 2}}) || len(g.DashboardACL("crmwatch-crm-agents")) != 1 {
		t.Errorf("dry run changed the ACL: %v", got)
	}
}

// TestPushRefusesNonOperators: a member of the organization who is
// neither a declared user nor in a declared team (a customer's account)
// stops the push before any write, named with the role; team and user
// names Grafana does not know are reported in the same error.
func TestPushRefusesNonOperators(t *testing.T) {
	g := operatorsOrg(t)
	g.AddUser(grafanatest.User{ID: 9, Login: "contoso-reader", Role: "Viewer"})
	g.AddUser(grafanatest.User{ID: 10, Login: "fabrikam-admin", Role: "Editor"})
	for _, dry := range []bool{true, false} {
		_, err := push(t, g, testAccess(t), dry)
		var no *grafana.NonOperatorsError
		if !errors.As(err, &no) || len(no.Accounts) != 2 {
			t.Fatalf("dry=%v: %v", dry, err)
		}
		for _, want := range []string{"refusing to push", "contoso-reader (Viewer), fabrikam-admin (Editor)", "not declared operators", "query its Prometheus data source"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	}
	if w := g.Writes(); len(w) != 0 {
		t.Errorf("refused push wrote %v", w)
	}

	a, err := grafana.ParseAccess([]byte("format: crmwatch.grafana-access/v1\noperators:\n  - {team: crm-nco, permission: view}\n  - {user: alise, permission: edit}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = push(t, operatorsOrg(t), a, false)
	for _, want := range []string{`operators[0]: team "crm-nco" does not exist in the Grafana organization`, `operators[1]: user "alise" is not a member of the Grafana organization`, "alice (Admin), bob (Viewer), carol (Editor)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

// TestPushErrors: what goes wrong says what to do.
func TestPushErrors(t *testing.T) {
	ctx := context.Background()
	a := testAccess(t)
	ds := builtin(t)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	_, err = grafana.Push(ctx, client(t, closed, testToken), ds, a, grafana.PushOptions{})
	if err == nil || !strings.Contains(err.Error(), "Grafana at "+closed+" is unreachable") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("unreachable: %v", err)
	}

	notGrafana := httptest.NewServer(http.NotFoundHandler())
	defer notGrafana.Close()
	_, err = grafana.Push(ctx, client(t, notGrafana.URL, testToken), ds, a, grafana.PushOptions{})
	if err == nil || !strings.Contains(err.Error(), "404 Not Found — no Grafana API answered there: check --grafana") {
		t.Errorf("not a Grafana: %v", err)
	}

	g := operatorsOrg(t)
	_, err = grafana.Push(ctx, client(t, g.URL, "glsa_wrong"), ds, a, grafana.PushOptions{})
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized") || !strings.Contains(err.Error(), "service-account token") || !strings.Contains(err.Error(), grafana.EnvToken) {
		t.Errorf("bad token: %v", err)
	}

	for perm, call := range map[string]string{"org.users:read": "GET /api/org/users", "folders:create": "POST /api/folders",
		"folders.permissions:write": "POST /api/folders/crmwatch/permissions", "dashboards:write": "POST /api/dashboards/db"} {
		g := operatorsOrg(t)
		g.Deny(perm)
		_, err := push(t, g, a, false)
		if err == nil || !strings.Contains(err.Error(), call+": 403 Forbidden") || !strings.Contains(err.Error(), "holds "+perm) ||
			!strings.Contains(err.Error(), "organization Admin role") {
			t.Errorf("%s denied: %v", perm, err)
		}
	}

	// Someone saves the dashboard in Grafana between crmwatch's read and
	// its write: Grafana answers 412 and the push says to run again.
	g = operatorsOrg(t)
	if _, err := push(t, g, a, false); err != nil {
		t.Fatal(err)
	}
	g.EditDashboard("crmwatch-crm-overview", "edited")
	g.OnRequest(func(method, path string) {
		if method == "POST" && path == "/api/dashboards/db" {
			g.EditDashboard("crmwatch-crm-overview", "edited again")
		}
	})
	_, err = push(t, g, a, false)
	if err == nil || !strings.Contains(err.Error(), "412 Precondition Failed: The dashboard has been changed by someone else") || !strings.Contains(err.Error(), "run the push again") {
		t.Errorf("version conflict: %v", err)
	}
	g.OnRequest(nil)
	if _, err := push(t, g, a, false); err != nil {
		t.Errorf("the push run again: %v", err)
	}

	// The same for the folder's title.
	g = operatorsOrg(t)
	if _, err := push(t, g, a, false); err != nil {
		t.Fatal(err)
	}
	g.RenameFolder("crmwatch", "renamed")
	g.OnRequest(func(method, path string) {
		if method == "PUT" && path == "/api/folders/crmwatch" {
			g.RenameFolder("crmwatch", "renamed again")
		}
	})
	if _, err = push(t, g, a, false); err == nil || !strings.Contains(err.Error(), "412 Precondition Failed: The folder has been changed by someone else") {
		t.Errorf("folder version conflict: %v", err)
	}

	tlsG := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsG.Close()
	if _, err = grafana.Push(ctx, client(t, tlsG.URL, testToken), ds, a, grafana.PushOptions{}); err == nil || !strings.Contains(err.Error(), "not trusted: pass the CA it chains to with --ca FILE") {
		t.Errorf("untrusted certificate: %v", err)
	}

	g = operatorsOrg(t)
	g.PutDashboard("crmwatch-crm-overview", "CRM farm overview", "", true)
	if _, err = push(t, g, a, false); err == nil || !strings.Contains(err.Error(), "is provisioned from files") {
		t.Errorf("provisioned: %v", err)
	}

	for _, o := range []grafana.ClientOptions{{URL: ""}, {URL: "grafana:3000", Token: secret.New("x")}, {URL: "http://admin:pw@g", Token: secret.New("x")}, {URL: "http://g"}} {
		if _, err := grafana.NewClient(o); err == nil || strings.Contains(err.Error(), "pw") {
			t.Errorf("%q: %v", secret.RedactURL(o.URL), err)
		}
	}
}

// TestPushCarriesOperatorsOnly (issue 16 point 5): the pushed ACL grants
// only the access file's operator teams and users, whatever the folder
// and its dashboards held before; an access list naming anything else is
// refused before a single request reaches Grafana.
func TestPushCarriesOperatorsOnly(t *testing.T) {
	g := operatorsOrg(t)
	g.AddFolder("crmwatch", "crmwatch")
	g.SetACL("crmwatch", []grafanatest.Grant{{Role: "Viewer", Permission: 1}, {Role: "Editor", Permission: 4}, {TeamID: 8, Permission: 1}, {UserID: 3, Permission: 4}})
	g.PutDashboard("crmwatch-crm-overview", "old", "crmwatch", false)
	g.SetDashboardACL("crmwatch-crm-overview", []grafanatest.Grant{{Role: "Viewer", Permission: 1}, {UserID: 3, Permission: 1}})
	if _, err := push(t, g, testAccess(t), false); err != nil {
		t.Fatal(err)
	}
	wantOperatorACL(t, g)
	for _, d := range builtin(t) {
		if own := g.DashboardACL(d.UID); len(own) != 0 {
			t.Errorf("%s keeps grants of its own: %v", d.UID, own)
		}
	}

	g = operatorsOrg(t)
	for _, c := range []struct {
		ops  []grafana.Operator
		want string
	}{
		{[]grafana.Operator{{Team: "Viewer", Permission: "view"}}, `team "Viewer" looks like an organization role`},
		{[]grafana.Operator{{Team: "editor", Permission: "edit"}}, `team "editor" looks like an organization role`},
		{[]grafana.Operator{{Team: "crm-noc", Permission: "admin"}}, "permission must be view or edit"},
		{[]grafana.Operator{{Team: "crm-noc", User: "alice", Permission: "view"}}, "set exactly one of team and user"},
		{[]grafana.Operator{{Permission: "view"}}, "set exactly one of team and user"},
		{nil, "name at least one operator team or user"},
	} {
		a := &grafana.Access{Format: grafana.AccessFormat, Operators: c.ops}
		if _, err := push(t, g, a, false); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.ops, err, c.want)
		}
	}
	if n := g.Requests(); n != 0 {
		t.Errorf("%d requests reached Grafana for refused access lists", n)
	}
}

// TestExportAndPushCarryTheSamePrincipals (issue 16 point 5): from one
// access file, the export's manifest and the pushed folder ACL name the
// same operator principals and nobody else.
func TestExportAndPushCarryTheSamePrincipals(t *testing.T) {
	a := testAccess(t)
	dir := t.TempDir()
	if _, err := grafana.Export(dir, builtin(t), a, ""); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "permissions.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m grafana.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	g := operatorsOrg(t)
	if _, err := push(t, g, a, false); err != nil {
		t.Fatal(err)
	}
	names := map[int64]string{7: "team:crm-noc", 1: "user:alice"} // the double's ids
	var pushed, exported []string
	for _, gr := range g.ACL("crmwatch") {
		if gr.Role != "" {
			t.Errorf("pushed ACL grants organization role %s", gr.Role)
		}
		pushed = append(pushed, fmt.Sprintf("%s=%d", names[gr.TeamID+gr.UserID], gr.Permission))
	}
	for _, o := range m.Operators {
		level := map[string]int{"view": 1, "edit": 2}[o.Permission]
		exported = append(exported, fmt.Sprintf("%s=%d", o.Principal(), level))
	}
	sort.Strings(pushed)
	sort.Strings(exported)
	if !reflect.DeepEqual(pushed, exported) {
		t.Errorf("pushed %v, exported %v", pushed, exported)
	}
}
