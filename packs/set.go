package packs

import "fmt"

// CheckRequirements checks that every pack's requires: entries are met by
// the other packs given (by name and version constraint).
func CheckRequirements(ps []*Pack) error {
	byName := map[string]*Pack{}
	var pl problemList
	for _, p := range ps {
		if other, dup := byName[p.Name]; dup {
			pl.add(p.Dir+"/pack.yaml", position{}, "", "pack %q is also loaded from %s; load each pack once", p.Name, other.Dir)
		}
		byName[p.Name] = p
	}
	for _, p := range ps {
		for _, r := range p.Requires {
			c, err := ParseConstraint(r.Version)
			if err != nil {
				pl.add(p.Dir+"/pack.yaml", position{}, "", "%v", err)
				continue
			}
			dep, ok := byName[r.Pack]
			switch {
			case !ok:
				pl.add(p.Dir+"/pack.yaml", position{}, "", "requires pack %q %s, which is not loaded; pass its directory too", r.Pack, r.Version)
			case !c.Allows(dep.Version):
				pl.add(p.Dir+"/pack.yaml", position{}, "", "requires pack %q %s, but %s has version %s", r.Pack, r.Version, dep.Dir, dep.Version)
			}
		}
	}
	return pl.err()
}

// LoadDirs loads several packs and checks their requirements, returning
// every problem of every pack at once.
func LoadDirs(dirs []string) ([]*Pack, error) {
	var all Problems
	var out []*Pack
	for _, d := range dirs {
		p, err := LoadDir(d)
		if err != nil {
			all = append(all, asProblems(d, err)...)
			continue
		}
		out = append(out, p)
	}
	if len(all) == 0 {
		if err := CheckRequirements(out); err != nil {
			all = append(all, asProblems("", err)...)
		}
	}
	if len(all) > 0 {
		return nil, all
	}
	return out, nil
}

func asProblems(file string, err error) Problems {
	if ps, ok := err.(Problems); ok {
		return ps
	}
	return Problems{{File: file, Message: fmt.Sprint(err)}}
}
