package access

import (
	"reflect"
	"testing"
)

func TestParseRole(t *testing.T) {
	cases := []struct {
		in   string
		want Role
		ok   bool
	}{
		{"admin", RoleAdmin, true}, {" Operator ", RoleOperator, true}, {"readonly", RoleReadonly, true},
		{"read-only", RoleReadonly, true}, {"customer", "", false}, {"tenant", "", false},
		{"viewer", "", false}, {"editor", "", false}, {"", "", false}, {"root", "", false},
	}
	for _, tc := range cases {
		got, err := ParseRole(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseRole(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestOnlyOperatorRolesExist guards the design rule: no customer principal.
// Exactly three roles exist, and any other name grants nothing anywhere.
func TestOnlyOperatorRolesExist(t *testing.T) {
	if got := Roles(); !reflect.DeepEqual(got, []Role{RoleAdmin, RoleOperator, RoleReadonly}) {
		t.Fatalf("Roles() = %v", got)
	}
	if len(grants) != 3 {
		t.Fatalf("grants has %d roles, want exactly admin, operator, readonly", len(grants))
	}
	for r := range grants {
		if _, err := ParseRole(string(r)); err != nil {
			t.Errorf("granted role %q does not parse", r)
		}
	}
	perms := []Permission{PermRead, PermAlertWrite, PermTraceWrite, PermTraceNoExpiry, PermAdmin}
	for _, r := range []Role{"customer", "tenant", "organization", "viewer", "guest", "", "ADMIN"} {
		for _, p := range perms {
			if r.Can(p) {
				t.Errorf("role %q holds %s", r, p)
			}
		}
	}
}

func TestPermissionMatrix(t *testing.T) {
	want := map[Role][]Permission{
		RoleAdmin:    {PermRead, PermAlertWrite, PermTraceWrite, PermTraceNoExpiry, PermAdmin},
		RoleOperator: {PermRead, PermAlertWrite, PermTraceWrite},
		RoleReadonly: {PermRead},
	}
	for _, r := range Roles() {
		var got []Permission
		for _, p := range []Permission{PermRead, PermAlertWrite, PermTraceWrite, PermTraceNoExpiry, PermAdmin} {
			if r.Can(p) {
				got = append(got, p)
			}
		}
		if !reflect.DeepEqual(got, want[r]) {
			t.Errorf("%s may %v, want %v", r, got, want[r])
		}
	}
}
