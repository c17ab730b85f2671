package grafana

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// The Grafana API shapes a push uses, as documented in grafana/grafana
// docs/sources/developers/http_api (folder.md, folder_permissions.md,
// dashboard.md, team.md, org.md, folder_dashboard_search.md). Only the
// fields crmwatch reads are declared.

// GFolder is a folder as GET /api/folders/:uid answers.
type GFolder struct {
	ID      int64  `json:"id"`
	UID     string `json:"uid"`
	Title   string `json:"title"`
	Version int    `json:"version"`
}

// ACLItem is one folder permission (GET and POST
// /api/folders/:uid/permissions): exactly one of Role, TeamID, UserID.
type ACLItem struct {
	Role       string `json:"role,omitempty"`
	TeamID     int64  `json:"teamId,omitempty"`
	Team       string `json:"team,omitempty"`
	UserID     int64  `json:"userId,omitempty"`
	UserLogin  string `json:"userLogin,omitempty"`
	Permission int    `json:"permission"`
	Inherited  bool   `json:"inherited,omitempty"`
}

// Grafana's permission levels.
const (
	LevelView  = 1
	LevelEdit  = 2
	LevelAdmin = 4
)

// Team is a Grafana team.
type Team struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// OrgUser is a member of the organization (GET /api/org/users) or of a
// team (GET /api/teams/:id/members).
type OrgUser struct {
	UserID int64  `json:"userId"`
	Login  string `json:"login"`
	Email  string `json:"email"`
	Role   string `json:"role,omitempty"`
}

// StoredDashboard is GET /api/dashboards/uid/:uid.
type StoredDashboard struct {
	Dashboard map[string]any `json:"dashboard"`
	Meta      struct {
		FolderUID   string `json:"folderUid"`
		Provisioned bool   `json:"provisioned"`
	} `json:"meta"`
}

// SearchHit is one dashboard of GET /api/search.
type SearchHit struct {
	UID   string `json:"uid"`
	Title string `json:"title"`
	Type  string `json:"type"`
}

// Folder returns the folder, or an error IsNotFound reports on.
func (c *Client) Folder(ctx context.Context, uid string) (*GFolder, error) {
	var f GFolder
	return &f, c.call(ctx, http.MethodGet, "/api/folders/"+url.PathEscape(uid), "folders:read", nil, &f)
}

// CreateFolder creates a top-level folder with this uid and title.
func (c *Client) CreateFolder(ctx context.Context, uid, title string) (*GFolder, error) {
	var f GFolder
	return &f, c.call(ctx, http.MethodPost, "/api/folders", "folders:create", map[string]string{"uid": uid, "title": title}, &f)
}

// RenameFolder sets the title of the folder at version (412 when someone
// changed it since).
func (c *Client) RenameFolder(ctx context.Context, uid, title string, version int) error {
	return c.call(ctx, http.MethodPut, "/api/folders/"+url.PathEscape(uid), "folders:write",
		map[string]any{"title": title, "version": version}, nil)
}

// FolderPermissions returns the folder's whole ACL.
func (c *Client) FolderPermissions(ctx context.Context, uid string) ([]ACLItem, error) {
	var items []ACLItem
	return items, c.call(ctx, http.MethodGet, "/api/folders/"+url.PathEscape(uid)+"/permissions", "folders.permissions:read", nil, &items)
}

// SetFolderPermissions replaces the folder's whole ACL by items: Grafana
// removes every permission not in the request.
func (c *Client) SetFolderPermissions(ctx context.Context, uid string, items []ACLItem) error {
	return c.setACL(ctx, "/api/folders/"+url.PathEscape(uid)+"/permissions", "folders.permissions:write", items)
}

// DashboardPermissions returns the dashboard's ACL: its own grants and,
// marked inherited, its folder's.
func (c *Client) DashboardPermissions(ctx context.Context, uid string) ([]ACLItem, error) {
	var items []ACLItem
	return items, c.call(ctx, http.MethodGet, "/api/dashboards/uid/"+url.PathEscape(uid)+"/permissions", "dashboards.permissions:read", nil, &items)
}

// SetDashboardPermissions replaces the dashboard's own grants by items.
func (c *Client) SetDashboardPermissions(ctx context.Context, uid string, items []ACLItem) error {
	return c.setACL(ctx, "/api/dashboards/uid/"+url.PathEscape(uid)+"/permissions", "dashboards.permissions:write", items)
}

func (c *Client) setACL(ctx context.Context, path, need string, items []ACLItem) error {
	type item struct {
		Role       string `json:"role,omitempty"`
		TeamID     int64  `json:"teamId,omitempty"`
		UserID     int64  `json:"userId,omitempty"`
		Permission int    `json:"permission"`
	}
	body := struct {
		Items []item `json:"items"`
	}{Items: []item{}}
	for _, it := range items {
		body.Items = append(body.Items, item{Role: it.Role, TeamID: it.TeamID, UserID: it.UserID, Permission: it.Permission})
	}
	return c.call(ctx, http.MethodPost, path, need, body, nil)
}

// TeamByName finds a team by its exact name; nil when there is none.
func (c *Client) TeamByName(ctx context.Context, name string) (*Team, error) {
	var r struct {
		Teams []Team `json:"teams"`
	}
	err := c.call(ctx, http.MethodGet, "/api/teams/search?name="+url.QueryEscape(name), "teams:read", nil, &r)
	if IsNotFound(err) { // team.md: 404 when searching by a name no team has
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, t := range r.Teams {
		if t.Name == name {
			return &t, nil
		}
	}
	return nil, nil
}

// TeamMembers lists a team's members.
func (c *Client) TeamMembers(ctx context.Context, id int64) ([]OrgUser, error) {
	var us []OrgUser
	return us, c.call(ctx, http.MethodGet, "/api/teams/"+strconv.FormatInt(id, 10)+"/members", "teams.permissions:read", nil, &us)
}

// OrgUsers lists every member of the token's organization.
func (c *Client) OrgUsers(ctx context.Context) ([]OrgUser, error) {
	var us []OrgUser
	return us, c.call(ctx, http.MethodGet, "/api/org/users", "org.users:read", nil, &us)
}

// Dashboard returns a stored dashboard, or an error IsNotFound reports on.
func (c *Client) Dashboard(ctx context.Context, uid string) (*StoredDashboard, error) {
	var d StoredDashboard
	return &d, c.call(ctx, http.MethodGet, "/api/dashboards/uid/"+url.PathEscape(uid), "dashboards:read", nil, &d)
}

// SaveDashboard creates (id and version nil) or updates (the stored id and
// version, so a change made meanwhile is a 412) a dashboard in the folder.
func (c *Client) SaveDashboard(ctx context.Context, model map[string]any, folderUID, message string) error {
	body := map[string]any{"dashboard": model, "folderUid": folderUID, "message": message, "overwrite": false}
	return c.call(ctx, http.MethodPost, "/api/dashboards/db", "dashboards:write (and dashboards:create for a new one)", body, nil)
}

// FolderDashboards lists the dashboards in a folder.
func (c *Client) FolderDashboards(ctx context.Context, folderUID string) ([]SearchHit, error) {
	var hits []SearchHit
	err := c.call(ctx, http.MethodGet, "/api/search?type=dash-db&limit=5000&folderUIDs="+url.QueryEscape(folderUID), "dashboards:read", nil, &hits)
	return hits, err
}

// decodeModel parses dashboard JSON into the generic model POSTed to
// Grafana and compared with what it stores.
func decodeModel(data []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("dashboard JSON: %w", err)
	}
	return m, nil
}
