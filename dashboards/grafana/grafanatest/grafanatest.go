// Package grafanatest is an HTTP test double of the Grafana API endpoints
// crmwatch dashboards push calls, for tests only: no Grafana server can be
// installed on the machines crmwatch is built on. It follows the documented
// API (grafana/grafana docs/sources/developers/http_api: folder.md,
// folder_permissions.md, dashboard.md, dashboard_permissions.md, team.md,
// org.md, folder_dashboard_search.md) including the error bodies
// ({"message": …, "status": …}), the version checks (412) and the
// folder-permissions POST that replaces the whole ACL. docs/dashboards.md
// lists what it does not model.
package grafanatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// User is an organization member.
type User struct {
	ID    int64
	Login string
	Role  string // Viewer, Editor or Admin
}

// Team is a team and its members' user ids.
type Team struct {
	ID      int64
	Name    string
	Members []int64
}

// Folder is a stored folder.
type Folder struct {
	ID      int64
	UID     string
	Title   string
	Version int
}

// Grant is one folder permission: exactly one of Role, TeamID, UserID.
type Grant struct {
	Role       string `json:"role,omitempty"`
	TeamID     int64  `json:"teamId,omitempty"`
	UserID     int64  `json:"userId,omitempty"`
	Permission int    `json:"permission"`
}

// Dashboard is a stored dashboard: its model as Grafana keeps it (with id
// and version set by the server) and its folder.
type Dashboard struct {
	Model       map[string]any
	FolderUID   string
	Provisioned bool
}

// Server is the double: its state changes through the API and through the
// methods tests call as another Grafana user would.
type Server struct {
	*httptest.Server
	// Token is the service-account token it accepts as a bearer token.
	Token string

	mu         sync.Mutex
	users      []User
	teams      []Team
	deny       map[string]bool
	hook       func(method, path string)
	folders    map[string]*Folder
	acl        map[string][]Grant
	dashACL    map[string][]Grant
	dashboards map[string]*Dashboard
	nextID     int64
	writes     []string
	requests   int
}

// Requests counts the requests that reached the double.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// New starts a double accepting token, with these members and teams.
func New(token string, users []User, teams []Team) *Server {
	s := &Server{Token: token, deny: map[string]bool{}, users: users, teams: teams,
		folders: map[string]*Folder{}, acl: map[string][]Grant{}, dashACL: map[string][]Grant{}, dashboards: map[string]*Dashboard{}, nextID: 100}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Deny makes the token lack a permission (folders:create,
// org.users:read…): requests needing it get 403 with Grafana's body.
func (s *Server) Deny(permission string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny[permission] = true
}

// OnRequest sets a hook run before each request is served, outside the
// double's lock: a test changes the state there as a concurrent Grafana
// user would.
func (s *Server) OnRequest(hook func(method, path string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = hook
}

// AddUser makes someone a member of the organization.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = append(s.users, u)
}

// Writes are the state-changing requests served ("POST /api/folders"…).
func (s *Server) Writes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.writes...)
}

// ACL is the folder's current grants.
func (s *Server) ACL(uid string) []Grant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Grant(nil), s.acl[uid]...)
}

// SetACL replaces a folder's grants (as someone editing them in Grafana).
func (s *Server) SetACL(uid string, g []Grant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acl[uid] = g
}

// DashboardACL is the dashboard's own grants (not the folder's).
func (s *Server) DashboardACL(uid string) []Grant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Grant(nil), s.dashACL[uid]...)
}

// SetDashboardACL replaces a dashboard's own grants (as someone editing
// them in Grafana).
func (s *Server) SetDashboardACL(uid string, g []Grant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dashACL[uid] = g
}

// Folder returns a stored folder, nil when absent.
func (s *Server) Folder(uid string) *Folder {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.folders[uid]; f != nil {
		c := *f
		return &c
	}
	return nil
}

// AddFolder stores a folder as if created in Grafana (with Grafana's
// default grants for a new folder).
func (s *Server) AddFolder(uid, title string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addFolder(uid, title)
}

// RenameFolder changes a folder's title as an edit in Grafana would.
func (s *Server) RenameFolder(uid, title string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.folders[uid]
	f.Title, f.Version = title, f.Version+1
}

// Dashboard returns a stored dashboard, nil when absent.
func (s *Server) Dashboard(uid string) *Dashboard {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.dashboards[uid]; d != nil {
		c := *d
		return &c
	}
	return nil
}

// EditDashboard changes a stored dashboard as an edit in Grafana's UI
// would: the title and a new version.
func (s *Server) EditDashboard(uid, title string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dashboards[uid]
	d.Model["title"] = title
	d.Model["version"] = d.Model["version"].(float64) + 1
}

// PutDashboard stores a dashboard as if saved by someone else.
func (s *Server) PutDashboard(uid, title, folderUID string, provisioned bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.dashboards[uid] = &Dashboard{Model: map[string]any{"id": float64(s.nextID), "uid": uid, "title": title, "version": float64(1)},
		FolderUID: folderUID, Provisioned: provisioned}
}

// DashboardUIDs lists the stored dashboards.
func (s *Server) DashboardUIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for uid := range s.dashboards {
		out = append(out, uid)
	}
	sort.Strings(out)
	return out
}

func (s *Server) addFolder(uid, title string) *Folder {
	s.nextID++
	f := &Folder{ID: s.nextID, UID: uid, Title: title, Version: 1}
	s.folders[uid] = f
	// folder_permissions.md: the default permissions are the Viewer and
	// Editor roles' (view and edit).
	s.acl[uid] = []Grant{{Role: "Viewer", Permission: 1}, {Role: "Editor", Permission: 2}}
	return f
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, msg, status string) {
	body := map[string]string{"message": msg}
	if status != "" {
		body["status"] = status
	}
	reply(w, code, body)
}

// route is one endpoint: the permission it needs and its handler.
type route struct {
	method, pattern, need string
	h                     func(w http.ResponseWriter, r *http.Request, args []string)
}

func (s *Server) routes() []route {
	return []route{
		{"GET", "/api/org/users", "org.users:read", s.orgUsers},
		{"GET", "/api/teams/search", "teams:read", s.teamSearch},
		{"GET", "/api/teams/*/members", "teams.permissions:read", s.teamMembers},
		{"GET", "/api/folders", "folders:read", s.listFolders},
		{"POST", "/api/folders", "folders:create", s.createFolder},
		{"GET", "/api/folders/*", "folders:read", s.getFolder},
		{"PUT", "/api/folders/*", "folders:write", s.updateFolder},
		{"GET", "/api/folders/*/permissions", "folders.permissions:read", s.getACL},
		{"POST", "/api/folders/*/permissions", "folders.permissions:write", s.setACL},
		{"GET", "/api/dashboards/uid/*", "dashboards:read", s.getDashboard},
		{"POST", "/api/dashboards/db", "dashboards:write", s.saveDashboard},
		{"GET", "/api/dashboards/uid/*/permissions", "dashboards.permissions:read", s.getDashboardACL},
		{"POST", "/api/dashboards/uid/*/permissions", "dashboards.permissions:write", s.setDashboardACL},
		{"GET", "/api/search", "dashboards:read", s.search},
	}
}

func match(pattern, path string) ([]string, bool) {
	p, q := strings.Split(pattern, "/"), strings.Split(strings.TrimSuffix(path, "/"), "/")
	if len(p) != len(q) {
		return nil, false
	}
	var args []string
	for i := range p {
		switch {
		case p[i] == "*":
			args = append(args, q[i])
		case p[i] != q[i]:
			return nil, false
		}
	}
	return args, true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	hook := s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(r.Method, r.URL.Path)
	}
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		fail(w, http.StatusUnauthorized, "Unauthorized", "")
		return
	}
	for _, rt := range s.routes() {
		args, ok := match(rt.pattern, r.URL.Path)
		if !ok || rt.method != r.Method {
			continue
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.deny[rt.need] {
			// The body of Grafana's access-control middleware.
			reply(w, http.StatusForbidden, map[string]string{"accessErrorId": "ACE0000000001", "title": "Access denied",
				"message": "You'll need additional permissions to perform this action. Permissions needed: " + rt.need})
			return
		}
		if r.Method != http.MethodGet {
			s.writes = append(s.writes, r.Method+" "+r.URL.Path)
		}
		rt.h(w, r, args)
		return
	}
	fail(w, http.StatusNotFound, "Not found", "")
}

func (s *Server) orgUsers(w http.ResponseWriter, _ *http.Request, _ []string) {
	out := []map[string]any{}
	for _, u := range s.users {
		out = append(out, map[string]any{"orgId": 1, "userId": u.ID, "login": u.Login, "email": u.Login + "@example.com", "role": u.Role})
	}
	reply(w, http.StatusOK, out)
}

func (s *Server) teamSearch(w http.ResponseWriter, r *http.Request, _ []string) {
	name, query := r.URL.Query().Get("name"), r.URL.Query().Get("query")
	teams := []map[string]any{}
	for _, t := range s.teams {
		if (name != "" && t.Name == name) || (name == "" && strings.Contains(t.Name, query)) {
			teams = append(teams, map[string]any{"id": t.ID, "orgId": 1, "name": t.Name, "memberCount": len(t.Members)})
		}
	}
	if name != "" && len(teams) == 0 { // team.md: 404 when searching by name
		fail(w, http.StatusNotFound, "Team not found", "")
		return
	}
	reply(w, http.StatusOK, map[string]any{"totalCount": len(teams), "teams": teams, "page": 1, "perPage": 1000})
}

func (s *Server) teamMembers(w http.ResponseWriter, _ *http.Request, args []string) {
	id, _ := strconv.ParseInt(args[0], 10, 64)
	out := []map[string]any{}
	for _, t := range s.teams {
		if t.ID != id {
			continue
		}
		for _, m := range t.Members {
			for _, u := range s.users {
				if u.ID == m {
					out = append(out, map[string]any{"orgId": 1, "teamId": id, "userId": u.ID, "login": u.Login, "email": u.Login + "@example.com"})
				}
			}
		}
	}
	reply(w, http.StatusOK, out)
}

func folderJSON(f *Folder) map[string]any {
	return map[string]any{"id": f.ID, "uid": f.UID, "title": f.Title, "url": "/dashboards/f/" + f.UID + "/",
		"hasAcl": false, "canSave": true, "canEdit": true, "canAdmin": true, "version": f.Version}
}

func (s *Server) listFolders(w http.ResponseWriter, _ *http.Request, _ []string) {
	out := []map[string]any{}
	for _, f := range s.folders {
		out = append(out, map[string]any{"id": f.ID, "uid": f.UID, "title": f.Title})
	}
	reply(w, http.StatusOK, out)
}

func (s *Server) getFolder(w http.ResponseWriter, _ *http.Request, args []string) {
	f := s.folders[args[0]]
	if f == nil {
		fail(w, http.StatusNotFound, "folder not found", "not-found")
		return
	}
	reply(w, http.StatusOK, folderJSON(f))
}

func (s *Server) createFolder(w http.ResponseWriter, r *http.Request, _ []string) {
	var in struct{ UID, Title string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Title == "" {
		fail(w, http.StatusBadRequest, "bad request data", "")
		return
	}
	if len(in.UID) > 40 {
		fail(w, http.StatusBadRequest, "uid too long, max 40 characters", "")
		return
	}
	if s.folders[in.UID] != nil {
		fail(w, http.StatusConflict, "a folder with the same uid already exists", "")
		return
	}
	for _, f := range s.folders {
		if f.Title == in.Title {
			fail(w, http.StatusConflict, "a folder or dashboard in the general folder with the same name already exists", "")
			return
		}
	}
	reply(w, http.StatusOK, folderJSON(s.addFolder(in.UID, in.Title)))
}

func (s *Server) updateFolder(w http.ResponseWriter, r *http.Request, args []string) {
	f := s.folders[args[0]]
	if f == nil {
		fail(w, http.StatusNotFound, "folder not found", "not-found")
		return
	}
	var in struct {
		Title     string
		Version   int
		Overwrite bool
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Title == "" {
		fail(w, http.StatusBadRequest, "bad request data", "")
		return
	}
	if !in.Overwrite && in.Version != f.Version {
		fail(w, http.StatusPreconditionFailed, "The folder has been changed by someone else", "version-mismatch")
		return
	}
	f.Title, f.Version = in.Title, f.Version+1
	reply(w, http.StatusOK, folderJSON(f))
}

func (s *Server) getACL(w http.ResponseWriter, _ *http.Request, args []string) {
	f := s.folders[args[0]]
	if f == nil {
		fail(w, http.StatusNotFound, "folder not found", "not-found")
		return
	}
	reply(w, http.StatusOK, s.aclJSON(f.UID, s.acl[f.UID], false, nil))
}

// getDashboardACL lists the dashboard's own grants and its folder's,
// marked inherited.
func (s *Server) getDashboardACL(w http.ResponseWriter, _ *http.Request, args []string) {
	d := s.dashboards[args[0]]
	if d == nil {
		fail(w, http.StatusNotFound, "Dashboard not found", "not-found")
		return
	}
	out := s.aclJSON(args[0], s.acl[d.FolderUID], true, nil)
	reply(w, http.StatusOK, s.aclJSON(args[0], s.dashACL[args[0]], false, out))
}

func (s *Server) aclJSON(uid string, grants []Grant, inherited bool, out []map[string]any) []map[string]any {
	if out == nil {
		out = []map[string]any{}
	}
	names := map[int]string{1: "View", 2: "Edit", 4: "Admin"}
	for _, g := range grants {
		item := map[string]any{"id": len(out) + 1, "uid": uid, "userId": g.UserID, "userLogin": "", "teamId": g.TeamID,
			"team": "", "role": g.Role, "permission": g.Permission, "permissionName": names[g.Permission], "inherited": inherited}
		for _, u := range s.users {
			if u.ID == g.UserID {
				item["userLogin"] = u.Login
			}
		}
		for _, t := range s.teams {
			if t.ID == g.TeamID {
				item["team"] = t.Name
			}
		}
		out = append(out, item)
	}
	return out
}

// setACL replaces the whole list: "Items that are omitted from the list
// will be removed" (folder_permissions.md).
func (s *Server) setACL(w http.ResponseWriter, r *http.Request, args []string) {
	f := s.folders[args[0]]
	if f == nil {
		fail(w, http.StatusNotFound, "folder not found", "not-found")
		return
	}
	if items, ok := s.readGrants(w, r); ok {
		s.acl[f.UID] = items
		reply(w, http.StatusOK, map[string]any{"message": "Folder permissions updated", "id": f.ID, "title": f.Title})
	}
}

// setDashboardACL replaces the dashboard's own grants
// (dashboard_permissions.md).
func (s *Server) setDashboardACL(w http.ResponseWriter, r *http.Request, args []string) {
	if s.dashboards[args[0]] == nil {
		fail(w, http.StatusNotFound, "Dashboard not found", "not-found")
		return
	}
	if items, ok := s.readGrants(w, r); ok {
		s.dashACL[args[0]] = items
		reply(w, http.StatusOK, map[string]any{"message": "Dashboard permissions updated"})
	}
}

// readGrants decodes and checks {"items": […]}, answering 400 when bad.
func (s *Server) readGrants(w http.ResponseWriter, r *http.Request) ([]Grant, bool) {
	var in struct {
		Items []Grant `json:"items"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "bad request data", "")
		return nil, false
	}
	for _, g := range in.Items {
		set := 0
		for _, b := range []bool{g.Role != "", g.TeamID != 0, g.UserID != 0} {
			if b {
				set++
			}
		}
		msg := ""
		switch {
		case set != 1:
			msg = "an item needs exactly one of role, teamId and userId"
		case g.Permission != 1 && g.Permission != 2 && g.Permission != 4:
			msg = "invalid permission"
		case g.Role != "" && g.Role != "Viewer" && g.Role != "Editor":
			msg = "invalid role" // Admins always have access; no permission can be set for them
		case g.TeamID != 0 && !s.hasTeam(g.TeamID):
			msg = "team not found"
		case g.UserID != 0 && !s.hasUser(g.UserID):
			msg = "user not found"
		}
		if msg != "" {
			fail(w, http.StatusBadRequest, msg, "")
			return nil, false
		}
	}
	return in.Items, true
}

func (s *Server) hasTeam(id int64) bool {
	for _, t := range s.teams {
		if t.ID == id {
			return true
		}
	}
	return false
}

func (s *Server) hasUser(id int64) bool {
	for _, u := range s.users {
		if u.ID == id {
			return true
		}
	}
	return false
}

func (s *Server) getDashboard(w http.ResponseWriter, _ *http.Request, args []string) {
	d := s.dashboards[args[0]]
	if d == nil {
		fail(w, http.StatusNotFound, "Dashboard not found", "not-found")
		return
	}
	reply(w, http.StatusOK, map[string]any{"dashboard": d.Model,
		"meta": map[string]any{"url": "/d/" + args[0] + "/", "folderUid": d.FolderUID, "provisioned": d.Provisioned, "canSave": !d.Provisioned}})
}

// saveDashboard is POST /api/dashboards/db: create (id null) or update
// (the stored id and version, or overwrite), in folderUid.
func (s *Server) saveDashboard(w http.ResponseWriter, r *http.Request, _ []string) {
	var in struct {
		Dashboard map[string]any `json:"dashboard"`
		FolderUID string         `json:"folderUid"`
		Overwrite bool           `json:"overwrite"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Dashboard == nil {
		fail(w, http.StatusBadRequest, "bad request data", "")
		return
	}
	title, _ := in.Dashboard["title"].(string)
	uid, _ := in.Dashboard["uid"].(string)
	if strings.TrimSpace(title) == "" {
		fail(w, http.StatusBadRequest, "Dashboard title cannot be empty", "empty-name")
		return
	}
	if in.FolderUID != "" && s.folders[in.FolderUID] == nil {
		fail(w, http.StatusBadRequest, "folder not found", "not-found")
		return
	}
	cur := s.dashboards[uid]
	for u, d := range s.dashboards {
		if u != uid && d.FolderUID == in.FolderUID && d.Model["title"] == title && !in.Overwrite {
			fail(w, http.StatusPreconditionFailed, "A dashboard with the same name in the folder already exists", "name-exists")
			return
		}
	}
	version := float64(1)
	id := float64(0)
	if cur != nil {
		if cur.Provisioned {
			fail(w, http.StatusBadRequest, "Cannot save provisioned dashboard", "")
			return
		}
		if !in.Overwrite {
			if in.Dashboard["id"] != cur.Model["id"] {
				fail(w, http.StatusPreconditionFailed, "A dashboard with the same uid already exists", "name-exists")
				return
			}
			if in.Dashboard["version"] != cur.Model["version"] {
				fail(w, http.StatusPreconditionFailed, "The dashboard has been changed by someone else", "version-mismatch")
				return
			}
		}
		version = cur.Model["version"].(float64) + 1
		id = cur.Model["id"].(float64)
	} else {
		s.nextID++
		id = float64(s.nextID)
	}
	in.Dashboard["id"], in.Dashboard["version"] = id, version
	s.dashboards[uid] = &Dashboard{Model: in.Dashboard, FolderUID: in.FolderUID}
	reply(w, http.StatusOK, map[string]any{"id": id, "uid": uid, "url": "/d/" + uid + "/", "status": "success", "version": version, "slug": uid})
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, _ []string) {
	q := r.URL.Query()
	folders := map[string]bool{}
	for _, f := range q["folderUIDs"] {
		for _, u := range strings.Split(f, ",") {
			folders[u] = true
		}
	}
	out := []map[string]any{}
	var uids []string
	for uid := range s.dashboards {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	for _, uid := range uids {
		d := s.dashboards[uid]
		if len(folders) > 0 && !folders[d.FolderUID] {
			continue
		}
		if t := q.Get("type"); t != "" && t != "dash-db" {
			continue
		}
		out = append(out, map[string]any{"id": d.Model["id"], "uid": uid, "title": d.Model["title"], "type": "dash-db",
			"url": "/d/" + uid + "/", "folderUid": d.FolderUID, "tags": []string{}})
	}
	reply(w, http.StatusOK, out)
}

// String describes a grant for test messages.
func (g Grant) String() string {
	switch {
	case g.Role != "":
		return fmt.Sprintf("role:%s=%d", g.Role, g.Permission)
	case g.TeamID != 0:
		return fmt.Sprintf("team:%d=%d", g.TeamID, g.Permission)
	default:
		return fmt.Sprintf("user:%d=%d", g.UserID, g.Permission)
	}
}
