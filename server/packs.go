package server

import (
	"fmt"

	"crmwatch/packs"
	"crmwatch/packs/crm"
	"crmwatch/rules"
)

// loadRules loads the built-in CRM pack, the packs in dirs and the
// overrides files (every problem reported at once) and returns the farm
// rules: each pack's rules with parameters, and host, group and role
// overrides as scoped variants (packs.FarmRules).
func loadRules(dirs, overrides []string) ([]rules.Rule, error) {
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
	ovs, err := packs.LoadOverridesFiles(overrides, ps)
	if err != nil {
		return nil, fmt.Errorf("overrides: %w", err)
	}
	var out []rules.Rule
	for _, p := range ps {
		rs, err := packs.FarmRules(p, ovs)
		if err != nil {
			return nil, fmt.Errorf("pack %s: %w", p.Name, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}
