package perfcounters

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/secret"
)

// Config configures the performance-counter collector. DefaultConfig is the
// one source of defaults; the agent decodes the operator's YAML (and --set
// overrides) on top of it and adds what the packs ask for its roles
// (ApplyPlan).
type Config struct {
	// Interval is how often counters are read when their set names no
	// interval. Default 15s (PAL's SampleInterval); 1s–1h.
	Interval time.Duration `yaml:"interval"`
	// Source reads the counter paths: "auto" (default: PDH on Windows,
	// /proc on Linux, nothing elsewhere), "pdh", "proc" or "none" (only the
	// Prometheus targets).
	Source string `yaml:"source"`
	// Counters are paths to read beyond what the packs ask for, in sets
	// with an optional interval of their own. Wildcard instances ("*")
	// are expanded on every read.
	Counters []CounterSet `yaml:"counters"`
	// MaxInstances caps how many instances one wildcard path expands to;
	// the rest are dropped and counted. Default 1000; 1–100000.
	MaxInstances int `yaml:"max_instances"`
	// Prometheus are exporters (windows_exporter, node_exporter, …) whose
	// text format is scraped and mapped onto counter paths.
	Prometheus []ScrapeConfig `yaml:"prometheus"`

	// planned is set once a collection plan was applied, so Run can tell
	// "waiting for the plan" (normal at start) from "nothing asked".
	planned bool
}

// CounterSet is a list of counter paths read every Interval (0: the
// collector's interval).
type CounterSet struct {
	Paths    []string      `yaml:"paths"`
	Interval time.Duration `yaml:"interval"`
}

// ScrapeConfig is one Prometheus text-format target.
type ScrapeConfig struct {
	// URL of the metrics page, e.g. http://127.0.0.1:9182/metrics. It may
	// carry credentials; logs and metrics show it redacted.
	URL secret.URL `yaml:"url"`
	// BearerToken, if set, is sent as Authorization: Bearer; never printed.
	BearerToken secret.Value `yaml:"bearer_token"`
	// Interval between scrapes (0: the collector's interval).
	Interval time.Duration `yaml:"interval"`
	// Timeout bounds one scrape (0: 10s, at most the interval).
	Timeout time.Duration `yaml:"timeout"`
	// Mappings turn metric series into counter paths; series no mapping
	// names are ignored.
	Mappings []Mapping `yaml:"mappings"`
}

// Mapping maps the series of one metric onto a counter path.
type Mapping struct {
	// Metric is the metric family name, e.g. node_memory_MemAvailable_bytes.
	Metric string `yaml:"metric"`
	// Match keeps only series whose labels have exactly these values.
	Match map[string]string `yaml:"match"`
	// Path is the counter path; {label} is replaced by that label's value,
	// e.g. \LogicalDisk({mountpoint})\Free Megabytes. Series that map to
	// the same path are added up.
	Path string `yaml:"path"`
	// Scale multiplies the value, e.g. 0.00000095367431640625 for bytes to
	// megabytes (0 or unset: 1).
	Scale float64 `yaml:"scale"`
	// Rate turns a cumulative counter (…_total) into a per-second rate
	// between two scrapes, as a Windows "/sec" counter is.
	Rate bool `yaml:"rate"`
}

// Sources for Config.Source.
const (
	SourceAuto = "auto"
	SourcePDH  = "pdh"
	SourceProc = "proc"
	SourceNone = "none"
)

// Defaults.
const (
	DefaultInterval      = 15 * time.Second
	DefaultMaxInstances  = 1000
	DefaultScrapeTimeout = 10 * time.Second
)

// DefaultConfig returns the configuration with every default set.
func DefaultConfig() *Config {
	return &Config{Interval: DefaultInterval, Source: SourceAuto, MaxInstances: DefaultMaxInstances}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Interval < time.Second || c.Interval > time.Hour {
		add("interval %v: want 1s to 1h", c.Interval)
	}
	switch c.Source {
	case SourceAuto, SourcePDH, SourceProc, SourceNone:
	default:
		add("source %q: want auto, pdh, proc or none", c.Source)
	}
	if c.MaxInstances < 1 || c.MaxInstances > 100000 {
		add("max_instances %d: want 1 to 100000", c.MaxInstances)
	}
	for i, cs := range c.Counters {
		if len(cs.Paths) == 0 {
			add("counters[%d].paths: empty; list counter paths such as '\\Memory\\Available MBytes'", i)
		}
		for j, p := range cs.Paths {
			if _, err := event.ParseCounterPath(p); err != nil {
				add("counters[%d].paths[%d]: %v", i, j, err)
			}
		}
		if cs.Interval != 0 && (cs.Interval < time.Second || cs.Interval > time.Hour) {
			add("counters[%d].interval %v: want 1s to 1h (or leave it out for interval)", i, cs.Interval)
		}
	}
	for i := range c.Prometheus {
		errs = append(errs, c.Prometheus[i].validate(fmt.Sprintf("prometheus[%d]", i), c.Interval)...)
	}
	return errors.Join(errs...)
}

func (s *ScrapeConfig) validate(key string, interval time.Duration) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(key+"."+format, a...)) }
	switch {
	case s.URL.IsZero():
		add("url: required, e.g. http://127.0.0.1:9182/metrics")
	case !strings.HasPrefix(s.URL.Reveal(), "http://") && !strings.HasPrefix(s.URL.Reveal(), "https://"):
		add("url %s: want an http:// or https:// URL", s.URL)
	}
	iv := s.interval(interval)
	if iv < time.Second || iv > time.Hour {
		add("interval %v: want 1s to 1h", iv)
	}
	if t := s.timeout(interval); t <= 0 || t > iv {
		add("timeout %v: want more than 0 and at most the interval (%v)", t, iv)
	}
	if len(s.Mappings) == 0 {
		add("mappings: empty; map at least one metric onto a counter path (see the collector README)")
	}
	for j, m := range s.Mappings {
		errs = append(errs, m.validate(fmt.Sprintf("%s.mappings[%d]", key, j))...)
	}
	return errs
}

func (s *ScrapeConfig) interval(def time.Duration) time.Duration {
	if s.Interval > 0 {
		return s.Interval
	}
	return def
}

func (s *ScrapeConfig) timeout(def time.Duration) time.Duration {
	if s.Timeout != 0 {
		return s.Timeout
	}
	return min(DefaultScrapeTimeout, s.interval(def))
}

func (m *Mapping) validate(key string) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(key+"."+format, a...)) }
	if m.Metric == "" {
		add("metric: required, the metric family name")
	}
	if _, err := event.ParseCounterPath(fillTemplate(m.Path, func(string) (string, bool) { return "x", true })); err != nil || m.Path == "" {
		add("path %q: want a counter path such as \\LogicalDisk({volume})\\Free Megabytes", m.Path)
	}
	if strings.Count(m.Path, "{") != strings.Count(m.Path, "}") {
		add("path %q: unbalanced { }", m.Path)
	}
	if math.IsNaN(m.Scale) || math.IsInf(m.Scale, 0) {
		add("scale: must be a finite number")
	}
	return errs
}

func (m *Mapping) scale() float64 {
	if m.Scale == 0 {
		return 1
	}
	return m.Scale
}

// ApplyPlan adds the counter sets the packs ask for (implements
// collectors.Planned); the operator's sets stay. It reports whether the
// plan asks for counters.
func (c *Config) ApplyPlan(p collectors.Plan) bool {
	c.planned = true
	for _, cs := range p.Counters {
		if len(cs.Paths) > 0 {
			c.Counters = append(c.Counters, CounterSet{Paths: slices.Clone(cs.Paths), Interval: cs.Interval})
		}
	}
	return len(p.Counters) > 0
}

// group is the paths read at one interval.
type group struct {
	interval time.Duration
	paths    []event.CounterPath
}

// groups returns the configured paths by interval, each path once (at its
// shortest interval), sorted for stable behaviour. Validate has run.
func (c *Config) groups() []group {
	best := map[string]time.Duration{}
	parsed := map[string]event.CounterPath{}
	for _, cs := range c.Counters {
		iv := cs.Interval
		if iv == 0 {
			iv = c.Interval
		}
		for _, p := range cs.Paths {
			cp, err := event.ParseCounterPath(p)
			if err != nil {
				continue
			}
			cp.Machine = ""
			k := pathKey(cp)
			if d, ok := best[k]; !ok || iv < d {
				best[k], parsed[k] = iv, cp
			}
		}
	}
	byIv := map[time.Duration][]string{}
	for k, d := range best {
		byIv[d] = append(byIv[d], k)
	}
	var out []group
	for d, keys := range byIv {
		slices.Sort(keys)
		g := group{interval: d}
		for _, k := range keys {
			g.paths = append(g.paths, parsed[k])
		}
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b group) int { return cmp.Compare(a.interval, b.interval) })
	return out
}
