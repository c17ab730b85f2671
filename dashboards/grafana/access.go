package grafana

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Access is who may see crmwatch's dashboards in Grafana: operator teams
// and operator users, each with view or edit. There is no other kind of
// principal: no role, no organization-wide grant, no customer.
type Access struct {
	Format string `yaml:"format"`
	// Folder is the Grafana folder holding the dashboards (default uid
	// and title "crmwatch").
	Folder Folder `yaml:"folder"`
	// Operators are the principals; at least one.
	Operators []Operator `yaml:"operators"`
}

// Folder names the Grafana folder.
type Folder struct {
	UID   string `yaml:"uid" json:"uid"`
	Title string `yaml:"title" json:"title"`
}

// Operator is one operator principal: exactly one of Team (a Grafana team
// of operators) and User (a Grafana login of one operator).
type Operator struct {
	Team       string `yaml:"team,omitempty" json:"team,omitempty"`
	User       string `yaml:"user,omitempty" json:"user,omitempty"`
	Permission string `yaml:"permission" json:"permission"` // view or edit
}

// Permissions a folder grant may carry.
const (
	PermView = "view"
	PermEdit = "edit"
)

// AccessFormat is the format line of an access file.
const AccessFormat = "crmwatch.grafana-access/v1"

var folderUID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// ParseAccess decodes and validates an access file, reporting every
// problem at once.
func ParseAccess(data []byte) (*Access, error) {
	var a Access
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("access file: %w (see docs/dashboards.md §2)", err)
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return &a, nil
}

// LoadAccess reads an access file.
func LoadAccess(path string) (*Access, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("access file: %w", err)
	}
	a, err := ParseAccess(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Validate applies defaults and reports every problem.
func (a *Access) Validate() error {
	var errs []error
	if a.Format != AccessFormat {
		errs = append(errs, fmt.Errorf("format must be %s, not %q", AccessFormat, a.Format))
	}
	if a.Folder.UID == "" {
		a.Folder.UID = "crmwatch"
	}
	if a.Folder.Title == "" {
		a.Folder.Title = "crmwatch"
	}
	if !folderUID.MatchString(a.Folder.UID) {
		errs = append(errs, fmt.Errorf("folder uid %q: letters, digits, - and _ only, at most 40", a.Folder.UID))
	}
	if len(a.Operators) == 0 {
		errs = append(errs, errors.New("operators: name at least one operator team or user; without one nobody but Grafana admins could see the dashboards"))
	}
	seen := map[string]bool{}
	for i, o := range a.Operators {
		switch {
		case (o.Team == "") == (o.User == ""):
			errs = append(errs, fmt.Errorf("operators[%d]: set exactly one of team and user", i))
		case o.Permission != PermView && o.Permission != PermEdit:
			errs = append(errs, fmt.Errorf("operators[%d] (%s): permission must be view or edit, not %q", i, o.Principal(), o.Permission))
		}
		if seen[o.Principal()] {
			errs = append(errs, fmt.Errorf("operators[%d]: %s is listed twice", i, o.Principal()))
		}
		seen[o.Principal()] = true
		if strings.EqualFold(o.Team, "Viewer") || strings.EqualFold(o.Team, "Editor") || strings.EqualFold(o.Team, "Admin") {
			errs = append(errs, fmt.Errorf("operators[%d]: team %q looks like an organization role; crmwatch grants named operator teams and users only", i, o.Team))
		}
	}
	return errors.Join(errs...)
}

// Principal is "team:NAME" or "user:LOGIN".
func (o Operator) Principal() string {
	if o.Team != "" {
		return "team:" + o.Team
	}
	return "user:" + o.User
}
