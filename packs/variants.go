package packs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"crmwatch/rules"
)

// maxVariantCells bounds the (host × role combination) cells resolved for
// one rule: 2^roles × (hosts+1) for the hosts and roles whose overrides
// touch it.
const maxVariantCells = 4096

// maxVariantLabel is the longest variant name kept verbatim; longer ones
// (a large group) are shortened with a hash, since the name appears in
// alert fields and keys.
const maxVariantLabel = 64

// FarmRules resolves the rules the server loads for the whole farm, so
// that the engine applies to every host exactly what Effective says for
// that host and its roles. A rule that host, group or role overrides touch
// (by rule id, or through a parameter it uses) becomes several scoped
// definitions of the same id:
//
//   - for each named host (host overrides, group members) and each
//     combination of the roles named by role overrides, the definition
//     Effective gives that host with those roles, and one for all other
//     hosts;
//   - identical definitions merge into one rule whose Scope covers them;
//   - the definition of "any other host without those roles" keeps the
//     pack's id; the others are rules.Rule.Variant of it, named after
//     their scope ("host=CRMAPP01", "role=SqlServer;!host=CRMSQL02").
//
// Disabled definitions are dropped (the base one is kept, disabled).
// Alerts of every variant carry the pack's rule id.
func FarmRules(p *Pack, ovs []*Overrides) ([]rules.Rule, error) {
	base, err := Effective(p, ovs, Target{})
	if err != nil {
		return nil, err
	}
	if !anyTargeted(ovs) {
		return base, nil
	}
	out := make([]rules.Rule, 0, len(base))
	for i, pr := range p.Rules {
		vs, err := ruleVariants(p, pr, base[i], ovs)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	if err := rules.Validate(out); err != nil {
		return nil, fmt.Errorf("pack %s: scoped rules from overrides: %w", p.Name, err)
	}
	return out, nil
}

func anyTargeted(ovs []*Overrides) bool {
	for _, ov := range ovs {
		for _, o := range ov.Overrides {
			if o.Host != "" || o.Group != "" || o.Role != "" {
				return true
			}
		}
	}
	return false
}

// dimensions are the hosts and roles whose overrides touch one rule.
type dimensions struct {
	hosts []string // case-insensitively distinct, first spelling kept
	roles []string
}

func addFold(list []string, s string) []string {
	if containsFold(list, s) {
		return list
	}
	return append(list, s)
}

// touching finds the targeted overrides that can change pr: those naming
// it (id or glob) and those setting a parameter it uses.
func touching(pr PackRule, ovs []*Overrides) dimensions {
	var d dimensions
	var refs map[string]bool
	for _, ov := range ovs {
		for _, o := range ov.Overrides {
			if o.Host == "" && o.Group == "" && o.Role == "" {
				continue
			}
			hit := false
			if o.Rule != "" {
				hit, _ = path.Match(o.Rule, pr.ID)
			}
			if !hit && len(o.Parameters) > 0 {
				if refs == nil {
					refs = paramRefs(pr.node, map[string]bool{})
				}
				for k := range o.Parameters {
					hit = hit || refs[k]
				}
			}
			if !hit {
				continue
			}
			switch {
			case o.Host != "":
				d.hosts = addFold(d.hosts, o.Host)
			case o.Group != "":
				for _, h := range ov.Groups[o.Group] {
					d.hosts = addFold(d.hosts, h)
				}
			default:
				d.roles = addFold(d.roles, o.Role)
			}
		}
	}
	return d
}

// paramRefs collects the identifiers used in ${…} expressions under n.
func paramRefs(n *yaml.Node, into map[string]bool) map[string]bool {
	if n == nil {
		return into
	}
	if n.Kind == yaml.ScalarNode {
		for v := n.Value; ; {
			i := strings.Index(v, "${")
			if i < 0 {
				break
			}
			v = v[i+2:]
			end := strings.IndexByte(v, '}')
			if end < 0 {
				end = len(v)
			}
			for _, f := range strings.FieldsFunc(v[:end], func(c rune) bool { return c > 0x7f || !isIdent(byte(c), false) }) {
				into[f] = true
			}
			v = v[end:]
		}
		return into
	}
	if n.Kind == yaml.AliasNode {
		return paramRefs(n.Alias, into)
	}
	for _, c := range n.Content {
		paramRefs(c, into)
	}
	return into
}

// cellSet is, for one definition, the role combinations (bit i = roles[i])
// of each host class ("" = every host not named).
type cellSet map[string][]uint32

// ruleVariants resolves every cell of pr and emits one scoped rule per
// distinct definition (more when its cells do not form one scope).
func ruleVariants(p *Pack, pr PackRule, base rules.Rule, ovs []*Overrides) ([]rules.Rule, error) {
	d := touching(pr, ovs)
	if len(d.hosts) == 0 && len(d.roles) == 0 {
		return []rules.Rule{base}, nil
	}
	if len(d.roles) > 12 || (len(d.hosts)+1)<<len(d.roles) > maxVariantCells {
		return nil, fmt.Errorf("rule %q: overrides name %d hosts and %d roles for it, more than %d host and role combinations to resolve; use fewer host or role overrides for this rule",
			pr.ID, len(d.hosts), len(d.roles), maxVariantCells)
	}
	defs := map[string]*rules.Rule{}
	cells := map[string]cellSet{}
	var order []string // definitions in first-seen order: deterministic output
	for _, h := range append([]string{""}, d.hosts...) {
		for m := uint32(0); m < 1<<len(d.roles); m++ {
			r := base
			if h != "" || m != 0 {
				t := Target{Host: h, Roles: maskRoles(d.roles, m)}
				os := applicable(ovs, t)
				var err error
				if r, err = effectiveRule(p, pr, os, targetParams(p, os)); err != nil {
					return nil, fmt.Errorf("host %q roles %v: %w", h, t.Roles, err)
				}
			}
			k, err := definitionKey(r)
			if err != nil {
				return nil, fmt.Errorf("rule %q: %w", pr.ID, err)
			}
			if defs[k] == nil {
				defs[k], cells[k] = &r, cellSet{}
				order = append(order, k)
			}
			cells[k][h] = append(cells[k][h], m)
		}
	}
	var out []rules.Rule
	for _, k := range order {
		r := defs[k]
		for _, sc := range scopesOf(cells[k], d) {
			if !r.IsEnabled() {
				if sc.base {
					out = append(out, *r) // the pack's rule stays listed, disabled
				}
				continue
			}
			v := *r
			v.Scope = sc.scope
			if !sc.base {
				v.Variant = variantLabel(sc.scope)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

func maskRoles(roles []string, m uint32) []string {
	var out []string
	for i, r := range roles {
		if m&(1<<i) != 0 {
			out = append(out, r)
		}
	}
	return out
}

// definitionKey identifies what a rule does; every disabled rule does the
// same (nothing), and enabled: true is the default.
func definitionKey(r rules.Rule) (string, error) {
	if !r.IsEnabled() {
		return "disabled", nil
	}
	r.Enabled = nil
	b, err := json.Marshal(r)
	return string(b), err
}

// scoped is one scope of a definition; base marks the scope that holds
// "any other host without the named roles" (it keeps the pack's id).
type scoped struct {
	scope *rules.Scope
	base  bool
}

// scopesOf turns a definition's cells into scopes: host classes with the
// same role combinations share one; the combinations become one
// all_roles/except_roles condition when they form one, else one scope each.
func scopesOf(cs cellSet, d dimensions) []scoped {
	byMasks := map[string][]string{}
	var keys []string
	for _, h := range append([]string{""}, d.hosts...) {
		ms, ok := cs[h]
		if !ok {
			continue
		}
		k := fmt.Sprint(ms)
		if byMasks[k] == nil {
			keys = append(keys, k)
		}
		byMasks[k] = append(byMasks[k], h)
	}
	var out []scoped
	for _, k := range keys {
		hosts := byMasks[k]
		ms := cs[hosts[0]]
		other := hosts[0] == ""
		var hs rules.Scope
		if other {
			for _, h := range d.hosts {
				if !slices.Contains(hosts, h) {
					hs.ExceptHosts = append(hs.ExceptHosts, h)
				}
			}
		} else {
			hs.Hosts = hosts
		}
		for _, rs := range roleScopes(ms, d.roles) {
			sc := hs
			sc.AllRoles, sc.ExceptRoles = rs.AllRoles, rs.ExceptRoles
			var ptr *rules.Scope
			if len(sc.Hosts)+len(sc.ExceptHosts)+len(sc.AllRoles)+len(sc.ExceptRoles) > 0 {
				ptr = &sc
			}
			// Role conditions without all_roles include the combination
			// "none of the named roles".
			out = append(out, scoped{scope: ptr, base: other && len(rs.AllRoles) == 0})
		}
	}
	return out
}

// roleScopes expresses a set of role combinations as role conditions: none
// for all of them, one all_roles/except_roles pair for a sub-cube, else one
// exact combination each.
func roleScopes(ms []uint32, roles []string) []rules.Scope {
	all := uint32(1)<<len(roles) - 1
	and, or := all, uint32(0)
	for _, m := range ms {
		and &= m
		or |= m
	}
	free := len(roles) - popcount(and) - popcount(all&^or)
	if len(ms) == 1<<free {
		return []rules.Scope{{AllRoles: maskRoles(roles, and), ExceptRoles: maskRoles(roles, all&^or)}}
	}
	out := make([]rules.Scope, 0, len(ms))
	for _, m := range ms {
		out = append(out, rules.Scope{AllRoles: maskRoles(roles, m), ExceptRoles: maskRoles(roles, all&^m)})
	}
	return out
}

func popcount(m uint32) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}

// variantLabel names a variant after its scope, e.g.
// "host=CRMAPP01;!role=AsyncService".
func variantLabel(s *rules.Scope) string {
	var parts []string
	add := func(k string, v []string) {
		if len(v) > 0 {
			parts = append(parts, k+"="+strings.Join(v, ","))
		}
	}
	add("host", s.Hosts)
	add("!host", s.ExceptHosts)
	add("role", s.AllRoles)
	add("!role", s.ExceptRoles)
	l := strings.Join(parts, ";")
	if len(l) <= maxVariantLabel {
		return l
	}
	sum := sha256.Sum256([]byte(l))
	return l[:maxVariantLabel-9] + "~" + hex.EncodeToString(sum[:4])
}
