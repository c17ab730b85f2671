package agent

import (
	"errors"
	"fmt"
	"strings"

	"crmwatch/event"
)

// Roles are CRM's own server-role names.
var Roles = event.Roles

// ParseRoles accepts comma-separated role names (case-insensitive) and
// returns them in CRM's spelling, without duplicates. Every unknown name is
// reported.
func ParseRoles(in ...string) ([]string, error) {
	var out []string
	var errs []error
	seen := map[string]bool{}
	for _, s := range in {
		for _, r := range strings.Split(s, ",") {
			r = strings.TrimSpace(r)
			if r == "" {
				continue
			}
			if strings.EqualFold(r, "auto") {
				errs = append(errs, errors.New(`role "auto": automatic role discovery is not available in this agent; list the roles, e.g. --roles AppServer,AsyncService`))
				continue
			}
			canon := ""
			for _, k := range Roles {
				if strings.EqualFold(k, r) {
					canon = k
				}
			}
			if canon == "" {
				errs = append(errs, fmt.Errorf("unknown role %q (valid: %s)", r, strings.Join(Roles, ", ")))
				continue
			}
			if !seen[canon] {
				seen[canon] = true
				out = append(out, canon)
			}
		}
	}
	return out, errors.Join(errs...)
}
