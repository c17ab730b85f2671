// Command palgen generates the counter rules of the built-in Dynamics CRM
// pack, and a unit test per rule, from the PAL threshold files (CRM 2013
// front end and back end) and the generic Windows, IIS/ASP.NET and SQL
// Server thresholds those files inherit (crm-domain §4.2). Run it with
// `go generate ./packs/crm`; its output is committed.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"crmwatch/event"
	"crmwatch/packs"
)

func main() {
	pal := flag.String("pal", "testdata/pal", "directory with the PAL DynamicsCRM2013_*.xml files")
	out := flag.String("out", ".", "pack directory to write rules/, tests/ and collect/ into")
	flag.Parse()
	if err := run(*pal, *out); err != nil {
		fmt.Fprintln(os.Stderr, "palgen:", err)
		os.Exit(1)
	}
}

func run(palDir, out string) error {
	counters, err := readPAL(palDir)
	if err != nil {
		return err
	}
	params, err := packParams(filepath.Join(out, "pack.yaml"))
	if err != nil {
		return err
	}
	files := map[string]*output{}
	get := func(name string) *output {
		if files[name] == nil {
			files[name] = &output{}
		}
		return files[name]
	}
	for _, c := range counters {
		r, err := palRule(c)
		if err != nil {
			return err
		}
		get(strings.TrimSuffix(strings.ToLower(strings.TrimPrefix(c.File, "DynamicsCRM2013_")), "_basic.xml")).add(r)
	}
	for _, g := range generics {
		get(g.file).add(genericRule(g))
	}
	for name, o := range files {
		if err := o.write(out, name, params); err != nil {
			return err
		}
	}
	roles, err := packRoles(filepath.Join(out, "pack.yaml"))
	if err != nil {
		return err
	}
	return writeCollect(out, files, roles)
}

// packRoles reads the pack's roles, which a rule without roles applies to.
func packRoles(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pf struct {
		Roles []string `yaml:"roles"`
	}
	if err := yaml.Unmarshal(data, &pf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pf.Roles, nil
}

// packParams reads the parameter defaults from pack.yaml (the one source of
// defaults) to compute test values for thresholds written as expressions.
func packParams(path string) (packs.Params, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pf struct {
		Parameters map[string]struct {
			Default any `yaml:"default"`
		} `yaml:"parameters"`
	}
	if err := yaml.Unmarshal(data, &pf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p := packs.Params{}
	for k, v := range pf.Parameters {
		switch x := v.Default.(type) {
		case int:
			p[k] = float64(x)
		default:
			p[k] = x
		}
	}
	return p, nil
}

// rule is a generated rule before it is written.
type rule struct {
	id, kind, description, summary, cause, resolution string
	roles                                             []string
	counter                                           string
	op, warning, critical, agg, window                string
	trendMax                                          string
}

func palRule(c palCounter) (rule, error) {
	cp, err := event.ParseCounterPath(c.Path)
	if err != nil {
		return rule{}, err
	}
	info, ok := objects[cp.Object]
	if !ok {
		return rule{}, fmt.Errorf("no knowledge for counter object %q; add it to objects in knowledge.go", cp.Object)
	}
	slug := info.slug
	if strings.HasSuffix(cp.Instance, "$maintenance") {
		slug += "-maintenance"
	}
	r := rule{
		id: "crm.counter." + slug + "." + slugify(cp.Counter), roles: info.roles, counter: c.Path,
		resolution: info.resolution,
	}
	desc := c.Description
	if desc == "" {
		desc = "PAL counter " + c.Path + "."
	}
	if c.Trend {
		r.kind, r.trendMax = "trend", c.TrendMax
		r.description = fmt.Sprintf("%s Generated from PAL %s: Warning when the counter increases, %s when it rose in each of the last samples.",
			desc, c.File, strings.ToUpper(c.TrendMax[:1])+c.TrendMax[1:])
		r.cause = desc + " " + trendCause
		if c.TrendMax == "warning" {
			r.cause = desc + " " + transientCause
		}
		r.summary = fmt.Sprintf("{{.Host}}: %s rising ({{.Instance}}, now {{.Value}})", cp.Counter)
		return r, nil
	}
	r.kind, r.op, r.warning, r.critical = "threshold", c.Op, c.Warning, c.Critical
	r.description = fmt.Sprintf("%s Generated from PAL %s: %s.", desc, c.File, levelText(r))
	r.cause = fmt.Sprintf("%s PAL threshold: %s.", desc, levelText(r))
	r.summary = fmt.Sprintf("{{.Host}}: %s is {{.Value}} ({{.Instance}})", cp.Counter)
	return r, nil
}

func genericRule(g generic) rule {
	cp, _ := event.ParseCounterPath(g.path)
	r := rule{
		id: "crm." + g.id, kind: "threshold", roles: g.roles, counter: g.path, op: g.op, warning: g.w, critical: g.c,
		agg: g.agg, window: g.window, resolution: familyResolution[g.file],
	}
	r.description = fmt.Sprintf("%s From the generic PAL thresholds the CRM PAL files inherit (crm-domain §4.2): %s.", g.meaning, levelText(r))
	r.cause = fmt.Sprintf("%s Threshold: %s.", g.meaning, levelText(r))
	what := cp.Counter
	if g.agg == "delta" || g.agg == "change" {
		what += " growth over " + g.window
	}
	r.summary = fmt.Sprintf("{{.Host}}: %s is {{.Value}}", what)
	if cp.Instance != "" {
		r.summary += " ({{.Instance}})"
	}
	return r
}

func levelText(r rule) string {
	op := map[string]string{"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}[r.op]
	var parts []string
	if r.warning != "" {
		parts = append(parts, "warning "+op+" "+r.warning)
	}
	if r.critical != "" {
		parts = append(parts, "critical "+op+" "+r.critical)
	}
	return strings.Join(parts, ", ")
}

func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case r == '%':
			if b.Len() > 0 && !dash {
				b.WriteByte('-')
			}
			b.WriteString("percent-")
			dash = true
		default:
			if b.Len() > 0 && !dash {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	return strings.Trim(b.String(), "-")
}
