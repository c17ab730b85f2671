package server

import (
	"fmt"

	"crmwatch/collectors"
	"crmwatch/dashboards"
	"crmwatch/event"
	"crmwatch/notify"

	"crmwatch/packs"
	"crmwatch/packs/crm"
	"crmwatch/rules"
)

// farm is what the packs and overrides files define for the whole farm.
type farm struct {
	rules []rules.Rule
	// groups are the server groups of the overrides files (name → host
	// names); trace settings can target them.
	groups map[string][]string
	// plans are what the packs' collect: sections ask each role to
	// collect (packs.Plans); agents get them through the packs bucket.
	plans map[event.Role]collectors.Plan
	// dashboards are the packs' dashboards after the overrides, for the
	// console (dashboards/history).
	dashboards []dashboards.Dashboard
}

// loadRules loads the built-in CRM pack, the packs in dirs and the
// overrides files (every problem reported at once) and returns the farm
// rules: each pack's rules with parameters, and host, group and role
// overrides as scoped variants (packs.FarmRules).
func loadRules(dirs, overrides []string) ([]rules.Rule, error) {
	f, err := loadFarm(dirs, overrides)
	return f.rules, err
}

// loadFarm is loadRules plus the overrides files' server groups, the
// packs' per-role collection plans and their dashboards.
func loadFarm(dirs, overrides []string) (farm, error) {
	builtin, err := crm.Load()
	if err != nil {
		return farm{}, fmt.Errorf("built-in CRM pack: %w", err)
	}
	ps := []*packs.Pack{builtin}
	if len(dirs) > 0 {
		extra, err := packs.LoadDirs(dirs)
		if err != nil {
			return farm{}, fmt.Errorf("packs: %w", err)
		}
		ps = append(ps, extra...)
		if err := packs.CheckRequirements(ps); err != nil {
			return farm{}, fmt.Errorf("packs: %w", err)
		}
	}
	ovs, err := packs.LoadOverridesFiles(overrides, ps)
	if err != nil {
		return farm{}, fmt.Errorf("overrides: %w", err)
	}
	f := farm{groups: map[string][]string{}}
	for _, p := range ps {
		rs, err := packs.FarmRules(p, ovs)
		if err != nil {
			return farm{}, fmt.Errorf("pack %s: %w", p.Name, err)
		}
		f.rules = append(f.rules, rs...)
	}
	for _, ov := range ovs {
		for g, hosts := range ov.Groups {
			f.groups[g] = append(f.groups[g], hosts...)
		}
	}
	// crmwatch's own rules go with every farm's.
	f.rules = append(f.rules, notify.FailingRule())
	f.plans = packs.Plans(ps)
	if f.dashboards, err = dashboards.Build(ps, ovs); err != nil {
		return farm{}, fmt.Errorf("dashboards: %w", err)
	}
	return f, nil
}
