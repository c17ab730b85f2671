package grafana

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"crmwatch/dashboards"
)

// PushOptions change how Push works.
type PushOptions struct {
	// DryRun reads Grafana and reports what would change, changing nothing.
	DryRun bool
	// Message is the dashboards' version-history message.
	Message string
}

// Action is one change a push makes (or would make).
type Action struct {
	Op     string // create-folder, rename-folder, set-permissions, create-dashboard, update-dashboard
	Target string // folder or dashboard uid
	Detail string
}

// PushReport is what a push did or, with DryRun, would do.
type PushReport struct {
	URL        string
	Folder     Folder
	DryRun     bool
	Actions    []Action
	Dashboards int // dashboards of the packs
	Unchanged  int // dashboards already as the packs say
	Principals int // operator principals of the folder ACL
	// Unmanaged are dashboards in the folder that no pack defines: left
	// alone (they inherit the operators-only folder permissions).
	Unmanaged []string
}

// NonOperatorsError is the refusal to push into an organization whose
// members are not all declared operators: any member of a Grafana
// organization can query its data sources, whatever a folder says.
type NonOperatorsError struct{ Accounts []OrgUser }

func (e *NonOperatorsError) Error() string {
	names := make([]string, len(e.Accounts))
	for i, u := range e.Accounts {
		names[i] = fmt.Sprintf("%s (%s)", u.Login, u.Role)
	}
	return fmt.Sprintf("refusing to push: the Grafana organization has %d member(s) who are not declared operators: %s. "+
		"Any member of the organization can query its Prometheus data source whatever the folder permissions say. "+
		"Remove them from the organization (or push to an organization of operators only); if they are operators, "+
		"add them to the access file, as a user or through one of its teams (docs/dashboards.md §3)",
		len(e.Accounts), strings.Join(names, ", "))
}

// Push makes Grafana hold the dashboards in the access file's folder,
// readable by exactly its operator teams and users, and nothing else
// changes on a second run. It first refuses (changing nothing) when a team
// or user of the access file is missing in Grafana or when the
// organization has members who are not declared operators. The folder's
// permissions are set before any dashboard lands in it.
func Push(ctx context.Context, c *Client, ds []dashboards.Dashboard, a *Access, o PushOptions) (*PushReport, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	r := &PushReport{URL: c.URL(), Folder: a.Folder, DryRun: o.DryRun, Dashboards: len(ds), Principals: len(a.Operators)}
	want, err := resolveOperators(ctx, c, a)
	if err != nil {
		return nil, err
	}
	models := make([]map[string]any, len(ds))
	for i, d := range ds {
		data, err := Dashboard(d)
		if err != nil {
			return nil, err
		}
		if models[i], err = decodeModel(data); err != nil {
			return nil, err
		}
	}
	exists, err := pushFolder(ctx, c, a.Folder, o.DryRun, r)
	if err != nil {
		return nil, err
	}
	if err := pushACL(ctx, c, a.Folder.UID, exists, want, o.DryRun, r); err != nil {
		return nil, err
	}
	ours := map[string]bool{}
	for i, d := range ds {
		ours[d.UID] = true
		stored, err := pushDashboard(ctx, c, d, models[i], a.Folder.UID, o, r)
		if err != nil {
			return nil, err
		}
		if err := resetDashboardACL(ctx, c, d.UID, stored, o.DryRun, r); err != nil {
			return nil, err
		}
	}
	if exists {
		hits, err := c.FolderDashboards(ctx, a.Folder.UID)
		if err != nil {
			return nil, err
		}
		for _, h := range hits {
			if !ours[h.UID] && h.Type != "dash-folder" {
				r.Unmanaged = append(r.Unmanaged, h.UID)
			}
		}
		sort.Strings(r.Unmanaged)
	}
	return r, nil
}

// resolveOperators finds the Grafana ids of the access file's teams and
// users and checks that every organization member is one of them or in
// one of the teams. It reports every problem at once.
func resolveOperators(ctx context.Context, c *Client, a *Access) ([]ACLItem, error) {
	members, err := c.OrgUsers(ctx)
	if err != nil {
		return nil, err
	}
	byLogin := map[string]OrgUser{}
	for _, u := range members {
		byLogin[u.Login] = u
	}
	operators := map[int64]bool{}
	var want []ACLItem
	var errs []error
	for i, op := range a.Operators {
		level := LevelView
		if op.Permission == PermEdit {
			level = LevelEdit
		}
		if op.User != "" {
			u, ok := byLogin[op.User]
			if !ok {
				errs = append(errs, fmt.Errorf("operators[%d]: user %q is not a member of the Grafana organization: add that login to the organization or correct it in the access file", i, op.User))
				continue
			}
			operators[u.UserID] = true
			want = append(want, ACLItem{UserID: u.UserID, UserLogin: u.Login, Permission: level})
			continue
		}
		t, err := c.TeamByName(ctx, op.Team)
		if err != nil {
			return nil, err
		}
		if t == nil {
			errs = append(errs, fmt.Errorf("operators[%d]: team %q does not exist in the Grafana organization: create it (Administration → Users and access → Teams) with the operators as members, or correct the name", i, op.Team))
			continue
		}
		ms, err := c.TeamMembers(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			operators[m.UserID] = true
		}
		want = append(want, ACLItem{TeamID: t.ID, Team: t.Name, Permission: level})
	}
	var outsiders []OrgUser
	for _, u := range members {
		if !operators[u.UserID] {
			outsiders = append(outsiders, u)
		}
	}
	if len(outsiders) > 0 {
		sort.Slice(outsiders, func(i, j int) bool { return outsiders[i].Login < outsiders[j].Login })
		errs = append([]error{&NonOperatorsError{Accounts: outsiders}}, errs...)
	}
	return want, errors.Join(errs...)
}

// pushFolder creates or renames the folder; it reports whether the folder
// existed before.
func pushFolder(ctx context.Context, c *Client, f Folder, dry bool, r *PushReport) (bool, error) {
	cur, err := c.Folder(ctx, f.UID)
	switch {
	case IsNotFound(err):
		r.Actions = append(r.Actions, Action{Op: "create-folder", Target: f.UID, Detail: fmt.Sprintf("title %q", f.Title)})
		if !dry {
			if _, err := c.CreateFolder(ctx, f.UID, f.Title); err != nil {
				return false, err
			}
		}
		return false, nil
	case err != nil:
		return false, err
	case cur.Title != f.Title:
		r.Actions = append(r.Actions, Action{Op: "rename-folder", Target: f.UID, Detail: fmt.Sprintf("title %q → %q", cur.Title, f.Title)})
		if !dry {
			if err := c.RenameFolder(ctx, f.UID, f.Title, cur.Version); err != nil {
				return true, err
			}
		}
	}
	return true, nil
}

// pushACL replaces the folder's ACL by exactly want when it differs. The
// API replaces the whole list, so organization-wide role grants, and any
// team or user grant not in the access file, go with one request.
func pushACL(ctx context.Context, c *Client, uid string, existed bool, want []ACLItem, dry bool, r *PushReport) error {
	var cur []ACLItem
	if existed || !dry {
		var err error
		if cur, err = c.FolderPermissions(ctx, uid); err != nil {
			return err
		}
	}
	added, removed := diffACL(cur, want)
	if len(added) == 0 && len(removed) == 0 {
		return nil
	}
	detail := make([]string, 0, len(added)+len(removed)+1)
	for _, it := range added {
		detail = append(detail, "+ "+describe(it))
	}
	for _, it := range removed {
		detail = append(detail, "- "+describe(it))
	}
	if !existed && dry {
		detail = append(detail, "- whatever Grafana grants a new folder (by default the organization roles Viewer: view, Editor: edit)")
	}
	r.Actions = append(r.Actions, Action{Op: "set-permissions", Target: uid, Detail: strings.Join(detail, ", ")})
	if dry {
		return nil
	}
	return c.SetFolderPermissions(ctx, uid, want)
}

// diffACL compares the folder's own grants (not those inherited from a
// parent folder) with the wanted ones.
func diffACL(cur, want []ACLItem) (added, removed []ACLItem) {
	key := func(it ACLItem) string {
		switch {
		case it.Role != "":
			return fmt.Sprintf("role:%s:%d", it.Role, it.Permission)
		case it.TeamID != 0:
			return fmt.Sprintf("team:%d:%d", it.TeamID, it.Permission)
		default:
			return fmt.Sprintf("user:%d:%d", it.UserID, it.Permission)
		}
	}
	have, wanted := map[string]bool{}, map[string]bool{}
	for _, it := range want {
		wanted[key(it)] = true
	}
	for _, it := range cur {
		if it.Inherited {
			continue
		}
		have[key(it)] = true
		if !wanted[key(it)] {
			removed = append(removed, it)
		}
	}
	for _, it := range want {
		if !have[key(it)] {
			added = append(added, it)
		}
	}
	return added, removed
}

func describe(it ACLItem) string {
	level := map[int]string{LevelView: "view", LevelEdit: "edit", LevelAdmin: "admin"}[it.Permission]
	if level == "" {
		level = fmt.Sprintf("permission %d", it.Permission)
	}
	switch {
	case it.Role != "":
		return "organization role " + it.Role + " " + level
	case it.TeamID != 0:
		name := it.Team
		if name == "" {
			name = fmt.Sprintf("#%d", it.TeamID)
		}
		return "team " + name + " " + level
	default:
		name := it.UserLogin
		if name == "" {
			name = fmt.Sprintf("#%d", it.UserID)
		}
		return "user " + name + " " + level
	}
}

// pushDashboard saves one dashboard unless Grafana already holds the same
// model in the folder. An update carries the stored id and version, so a
// change made in Grafana meanwhile is refused (412), not overwritten. It
// reports whether Grafana holds the dashboard afterwards.
func pushDashboard(ctx context.Context, c *Client, d dashboards.Dashboard, model map[string]any, folderUID string, o PushOptions, r *PushReport) (bool, error) {
	cur, err := c.Dashboard(ctx, d.UID)
	op := "update-dashboard"
	switch {
	case IsNotFound(err):
		op = "create-dashboard"
	case err != nil:
		return false, err
	case cur.Meta.Provisioned:
		return false, fmt.Errorf("dashboard %s is provisioned from files in this Grafana, which refuses API saves of it: push or provision, not both (remove the provisioning file of crmwatch dashboards export, or do not push)", d.UID)
	case cur.Meta.FolderUID == folderUID && sameModel(cur.Dashboard, model):
		r.Unchanged++
		return true, nil
	}
	detail := fmt.Sprintf("%q", d.Title)
	if op == "update-dashboard" && cur.Meta.FolderUID != folderUID {
		detail += fmt.Sprintf(", moved from folder %q", cur.Meta.FolderUID)
	}
	r.Actions = append(r.Actions, Action{Op: op, Target: d.UID, Detail: detail})
	if o.DryRun {
		return op == "update-dashboard", nil
	}
	save := make(map[string]any, len(model)+2)
	for k, v := range model {
		save[k] = v
	}
	save["id"], save["version"] = nil, nil
	if op == "update-dashboard" {
		save["id"], save["version"] = cur.Dashboard["id"], cur.Dashboard["version"]
	}
	msg := o.Message
	if msg == "" {
		msg = "crmwatch dashboards push"
	}
	return true, c.SaveDashboard(ctx, save, folderUID, msg)
}

// resetDashboardACL removes a pushed dashboard's own grants, so it is
// readable by exactly the folder's operators: a grant on the dashboard
// (an organization role, another team) would add to the folder's.
func resetDashboardACL(ctx context.Context, c *Client, uid string, stored, dry bool, r *PushReport) error {
	if !stored {
		return nil // a dashboard a dry run would create: Grafana has no ACL for it yet
	}
	items, err := c.DashboardPermissions(ctx, uid)
	if err != nil {
		return err
	}
	_, own := diffACL(items, nil)
	if len(own) == 0 {
		return nil
	}
	detail := make([]string, len(own))
	for i, it := range own {
		detail[i] = "- " + describe(it)
	}
	r.Actions = append(r.Actions, Action{Op: "reset-dashboard-permissions", Target: uid,
		Detail: strings.Join(detail, ", ") + " (it keeps the folder's)"})
	if dry {
		return nil
	}
	return c.SetDashboardPermissions(ctx, uid, nil)
}

// sameModel compares a stored dashboard with the rendered one, leaving out
// what Grafana sets itself (id, version).
func sameModel(stored, model map[string]any) bool {
	strip := func(m map[string]any) map[string]any {
		out := make(map[string]any, len(m))
		for k, v := range m {
			if k != "id" && k != "version" {
				out[k] = v
			}
		}
		return out
	}
	return reflect.DeepEqual(strip(stored), strip(model))
}

// Print writes the report for people.
func (r *PushReport) Print(w io.Writer) {
	verb := "changes made"
	if r.DryRun {
		fmt.Fprintf(w, "dry run: nothing was changed in Grafana at %s; a push would:\n", r.URL)
		verb = "changes to make"
	} else if len(r.Actions) > 0 {
		fmt.Fprintf(w, "Grafana at %s:\n", r.URL)
	}
	for _, a := range r.Actions {
		fmt.Fprintf(w, "  %s %s: %s\n", a.Op, a.Target, a.Detail)
	}
	if len(r.Actions) == 0 {
		fmt.Fprintf(w, "nothing to change in Grafana at %s: folder %s, its %d dashboards and its permissions (exactly %d operator principals) are as the packs and the access file say\n",
			r.URL, r.Folder.UID, r.Dashboards, r.Principals)
	} else {
		fmt.Fprintf(w, "%d %s; %d of %d dashboards unchanged; folder %s permissions: exactly %d operator principals\n",
			len(r.Actions), verb, r.Unchanged, r.Dashboards, r.Folder.UID, r.Principals)
	}
	if len(r.Unmanaged) > 0 {
		fmt.Fprintf(w, "left alone: %d dashboard(s) in folder %s that no pack defines (%s); they inherit its operators-only permissions\n",
			len(r.Unmanaged), r.Folder.UID, strings.Join(r.Unmanaged, ", "))
	}
}
