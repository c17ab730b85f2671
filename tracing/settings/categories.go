package settings

import (
	"errors"
	"fmt"
	"strings"
)

// Levels are the TraceCategories levels in increasing detail (reference
// §3.2: Off, Error, Warning, Info, Verbose; cumulative).
var Levels = []string{"Off", "Error", "Warning", "Info", "Verbose"}

// KnownCategories are the trace categories of CRM 2011/2013 (reference
// §3.2). Other names are accepted with a warning: CRM versions differ.
var KnownCategories = []string{
	"Application", "Application.Outlook",
	"Platform", "Platform.Async", "Platform.ImportExportPublish", "Platform.Import", "Platform.Metadata",
	"Platform.Sdk", "Platform.Soap", "Platform.Sql", "Platform.Workflow",
	"Deployment", "Deployment.Provisioning", "Deployment.Sdk",
	"Sandbox", "Sandbox.AssemblyCache", "Sandbox.LoadBalancer", "Sandbox.CallReturn", "Sandbox.EnterExit",
	"Sandbox.StartStop", "Sandbox.Performance", "Sandbox.Monitoring",
	"Unmanaged.Outlook", "Unmanaged.Platform", "Unmanaged.Sql",
	"Live", "Live.AggregationDataExport", "Live.PartnerInteraction", "Live.Platform", "Live.Portal",
	"Live.Provisioning", "Live.Support", "Live.SyncDaemon",
	"ADUtility", "DataMigration", "Exception", "Etm", "Monitoring", "NewOrgUtility", "ObjectModel",
	"ParameterFilter", "Reports", "SchedulingEngine", "ServiceBus", "Shared", "SharePointCollaboration",
	"Solutions", "Visualizations",
}

// MaxCategoriesLen bounds a TraceCategories value; real ones are a few
// entries long.
const MaxCategoriesLen = 2048

// Categories is a checked TraceCategories value.
type Categories struct {
	// Value is the canonical text: entries joined by ';', known category
	// names and levels in CRM's spelling, no spaces.
	Value string
	// Warnings name entries that are valid but unknown to the reference's
	// category list (CRM versions differ, so they are not refused).
	Warnings []string
}

// ParseCategories checks a TraceCategories value: `Category[.Sub…|.*]:Level`
// entries joined by ';', `*` for all categories, levels Off, Error, Warning,
// Info or Verbose in any case. It returns the canonical form, or every
// refused entry at once, each naming the part at fault and what is allowed.
func ParseCategories(s string) (Categories, error) {
	var out Categories
	if len(s) > MaxCategoriesLen {
		return out, fmt.Errorf("categories: %d characters is more than the %d allowed", len(s), MaxCategoriesLen)
	}
	var errs, entries []string
	seen := map[string]int{}
	n := 0
	for _, raw := range strings.Split(s, ";") {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			continue
		}
		n++
		canon, warn, err := parseEntry(entry)
		if err != nil {
			errs = append(errs, fmt.Sprintf("entry %d %q: %v", n, entry, err))
			continue
		}
		pat, _, _ := strings.Cut(canon, ":")
		if first, dup := seen[strings.ToLower(pat)]; dup {
			errs = append(errs, fmt.Sprintf("entry %d %q: category %s is already set by entry %d; give each category one level", n, entry, pat, first))
			continue
		}
		seen[strings.ToLower(pat)] = n
		if warn != "" {
			out.Warnings = append(out.Warnings, fmt.Sprintf("entry %d %q: %s", n, entry, warn))
		}
		entries = append(entries, canon)
	}
	if len(errs) > 0 {
		return Categories{}, fmt.Errorf("categories %q refused:\n  %s", s, strings.Join(errs, "\n  "))
	}
	if len(entries) == 0 {
		return Categories{}, errors.New("categories are empty: want Category:Level entries joined by ';', e.g. *:Verbose or Platform.Sql:Verbose;Platform.*:Warning")
	}
	out.Value = strings.Join(entries, ";")
	return out, nil
}

// parseEntry checks one `pattern:Level` entry and returns it canonical, with
// a warning for an unknown category name.
func parseEntry(entry string) (canon, warning string, err error) {
	pat, lv, ok := strings.Cut(entry, ":")
	pat, lv = strings.TrimSpace(pat), strings.TrimSpace(lv)
	if !ok {
		return "", "", errors.New("no ':' — want Category:Level, e.g. Platform.Sql:Error or *:Verbose")
	}
	level, ok := canonicalLevel(lv)
	if !ok {
		return "", "", fmt.Errorf("level %q is not one of %s", lv, strings.Join(Levels, ", "))
	}
	cat, known, err := canonicalPattern(pat)
	if err != nil {
		return "", "", err
	}
	if !known {
		warning = fmt.Sprintf("category %s is not in the CRM 2011/2013 category list; kept as written (other CRM versions have other categories)", cat)
	}
	return cat + ":" + level, warning, nil
}

func canonicalLevel(s string) (string, bool) {
	for _, l := range Levels {
		if strings.EqualFold(s, l) {
			return l, true
		}
	}
	return "", false
}

// canonicalPattern checks `*`, `Name(.Name)*` or `Name(.Name)*.*` and returns
// it in the known spelling. known is false for a name (or wildcard family)
// the category list does not have.
func canonicalPattern(p string) (string, bool, error) {
	const want = "want *, Category, Category.Sub or Category.* (letters and digits, parts joined by '.')"
	if p == "*" {
		return p, true, nil
	}
	if p == "" {
		return "", false, errors.New("the category is empty; " + want)
	}
	name, wild := strings.CutSuffix(p, ".*")
	for _, part := range strings.Split(name, ".") {
		if !isName(part) {
			return "", false, fmt.Errorf("category %q: %s", p, want)
		}
	}
	for _, k := range KnownCategories {
		if wild && (strings.EqualFold(k, name) || len(k) > len(name) && strings.EqualFold(k[:len(name)+1], name+".")) {
			return k[:len(name)] + ".*", true, nil
		}
		if !wild && strings.EqualFold(k, name) {
			return k, true, nil
		}
	}
	return p, false, nil
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}
