package server

import (
	"fmt"
	"slices"

	"crmwatch/packs"
	"crmwatch/packs/crm"
	"crmwatch/rules"
)

// loadRules loads the built-in CRM pack and the packs in dirs (every problem
// of every pack reported at once) and returns their rules. A rule without
// roles applies to its pack's roles.
func loadRules(dirs []string) ([]rules.Rule, error) {
	builtin, err := crm.Load()
	if err != nil {
		return nil, fmt.Errorf("built-in CRM pack: %w", err)
	}
	ps := []*packs.Pack{builtin}
	if len(dirs) > 0 {
		extra, err := packs.LoadDirs(dirs)
		if err != nil {
			return nil, fmt.Errorf("packs: %w", err)
		}
		ps = append(ps, extra...)
		if err := packs.CheckRequirements(ps); err != nil {
			return nil, fmt.Errorf("packs: %w", err)
		}
	}
	var out []rules.Rule
	for _, p := range ps {
		for _, pr := range p.Rules {
			r := pr.Rule
			if len(r.Roles) == 0 {
				r.Roles = slices.Clone(p.Roles)
			}
			out = append(out, r)
		}
	}
	return out, nil
}
