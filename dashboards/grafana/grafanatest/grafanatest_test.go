package grafanatest

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestDocumentedAnswers checks the double against the documented status
// codes and bodies it claims (docs/dashboards.md §3, "The gap").
func TestDocumentedAnswers(t *testing.T) {
	s := New("tok", []User{{ID: 1, Login: "alice", Role: "Admin"}}, []Team{{ID: 7, Name: "noc", Members: []int64{1}}})
	defer s.Close()
	call := func(token, method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		return resp.StatusCode, m
	}
	for _, c := range []struct {
		token, method, path, body string
		code                      int
		message, status           string
	}{
		{"bad", "GET", "/api/org/users", "", 401, "Unauthorized", ""},
		{"tok", "GET", "/api/folders/nope", "", 404, "folder not found", "not-found"},
		{"tok", "GET", "/api/dashboards/uid/nope", "", 404, "Dashboard not found", "not-found"},
		{"tok", "GET", "/api/teams/search?name=nope", "", 404, "Team not found", ""},
		{"tok", "POST", "/api/folders", `{"uid":"f","title":"F"}`, 200, "", ""},
		{"tok", "POST", "/api/folders", `{"uid":"f","title":"Other"}`, 409, "a folder with the same uid already exists", ""},
		{"tok", "POST", "/api/folders", `{"uid":"g","title":"F"}`, 409, "a folder or dashboard in the general folder with the same name already exists", ""},
		{"tok", "PUT", "/api/folders/f", `{"title":"G","version":7}`, 412, "The folder has been changed by someone else", "version-mismatch"},
		{"tok", "POST", "/api/folders/f/permissions", `{"items":[{"role":"Admin","permission":1}]}`, 400, "invalid role", ""},
		{"tok", "POST", "/api/folders/f/permissions", `{"items":[{"teamId":99,"permission":1}]}`, 400, "team not found", ""},
		{"tok", "POST", "/api/folders/f/permissions", `{"items":[{"userId":1,"permission":3}]}`, 400, "invalid permission", ""},
		{"tok", "POST", "/api/dashboards/db", `{"dashboard":{"uid":"d","title":"D","id":null},"folderUid":"f"}`, 200, "", ""},
		{"tok", "POST", "/api/dashboards/db", `{"dashboard":{"uid":"d","title":"D","id":null},"folderUid":"f"}`, 412, "A dashboard with the same uid already exists", "name-exists"},
		{"tok", "POST", "/api/dashboards/db", `{"dashboard":{"uid":"e","title":"D"},"folderUid":"f"}`, 412, "A dashboard with the same name in the folder already exists", "name-exists"},
		{"tok", "POST", "/api/dashboards/db", `{"dashboard":{"uid":"d","title":"D","id":102,"version":5},"folderUid":"f"}`, 412, "The dashboard has been changed by someone else", "version-mismatch"},
	} {
		code, m := call(c.token, c.method, c.path, c.body)
		if code != c.code || (c.message != "" && m["message"] != c.message) || (c.status != "" && m["status"] != c.status) {
			t.Errorf("%s %s %s: %d %v, want %d %q %q", c.method, c.path, c.body, code, m, c.code, c.message, c.status)
		}
	}

	req, _ := http.NewRequest("GET", s.URL+"/api/folders?limit=10", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var folders []struct{ UID, Title string }
	_ = json.NewDecoder(resp.Body).Decode(&folders)
	resp.Body.Close()
	if len(folders) != 1 || folders[0].UID != "f" || folders[0].Title != "F" {
		t.Errorf("GET /api/folders: %+v", folders)
	}

	// A new folder has the documented default grants; a POST replaces them all.
	if got := s.ACL("f"); !reflect.DeepEqual(got, []Grant{{Role: "Viewer", Permission: 1}, {Role: "Editor", Permission: 2}}) {
		t.Errorf("new folder ACL %v", got)
	}
	if code, _ := call("tok", "POST", "/api/folders/f/permissions", `{"items":[{"teamId":7,"permission":1}]}`); code != 200 {
		t.Fatal(code)
	}
	if got := s.ACL("f"); !reflect.DeepEqual(got, []Grant{{TeamID: 7, Permission: 1}}) {
		t.Errorf("ACL after replace %v", got)
	}

	// A dashboard's ACL lists the folder's grants as inherited, then its own.
	s.SetDashboardACL("d", []Grant{{Role: "Viewer", Permission: 1}})
	req, _ = http.NewRequest("GET", s.URL+"/api/dashboards/uid/d/permissions", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var items []struct {
		TeamID    int64  `json:"teamId"`
		Role      string `json:"role"`
		Inherited bool   `json:"inherited"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&items)
	resp.Body.Close()
	if len(items) != 2 || items[0].TeamID != 7 || !items[0].Inherited || items[1].Role != "Viewer" || items[1].Inherited {
		t.Errorf("dashboard ACL %+v", items)
	}
	if code, _ := call("tok", "POST", "/api/dashboards/uid/d/permissions", `{"items":[]}`); code != 200 || len(s.DashboardACL("d")) != 0 {
		t.Errorf("dashboard ACL replace: %d %v", code, s.DashboardACL("d"))
	}

	s.Deny("folders:create")
	code, m := call("tok", "POST", "/api/folders", `{"uid":"h","title":"H"}`)
	if code != 403 || m["title"] != "Access denied" || !strings.Contains(m["message"].(string), "Permissions needed: folders:create") || m["accessErrorId"] == nil {
		t.Errorf("denied: %d %v", code, m)
	}
	s.PutDashboard("p", "P", "f", true)
	if code, m := call("tok", "POST", "/api/dashboards/db", `{"dashboard":{"uid":"p","title":"P"},"folderUid":"f","overwrite":true}`); code != 400 || m["message"] != "Cannot save provisioned dashboard" {
		t.Errorf("provisioned: %d %v", code, m)
	}
}
