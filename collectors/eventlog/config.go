package eventlog

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"crmwatch/collectors"
	"crmwatch/event"
)

// Config configures the event-log collector. DefaultConfig is the one
// source of defaults; the agent decodes the operator's YAML on top of it.
type Config struct {
	// Live subscribes to the Windows event log (EvtSubscribe) on the
	// channels below, with a bookmark per channel kept in the agent's state
	// directory. Default true on Windows; elsewhere the collector refuses
	// it (there is no event log to subscribe to).
	Live bool `yaml:"live"`
	// Channels are read live, each keeping its sources (empty: every
	// source) at its min_level and above (empty: MinLevel). The packs'
	// collect: sections add channels and sources for the host's roles
	// (Application with the CRM sources for the CRM server roles).
	Channels []Channel `yaml:"channels"`
	// DropDir is a folder watched for exported logs (*.evtx, *.xml):
	// each file is imported once, whatever its name, when its size has
	// stayed the same for one poll (still being copied otherwise). Off
	// when empty.
	DropDir string `yaml:"drop_dir"`
	// Sources, if set, keep only these sources from dropped files
	// (case-insensitive). Default: every source.
	Sources []string `yaml:"sources"`
	// MinLevel is the least severe level shipped: verbose, info, warning
	// (default) or error. The rules need warnings and errors.
	MinLevel string `yaml:"min_level"`
	// PollInterval is how often the drop folder is scanned. Default 2s;
	// 100ms–10m.
	PollInterval time.Duration `yaml:"poll_interval"`
	// BatchSize is the most events handed to the transport at once (and
	// the most a bookmark moves by). Default 500; 1–10000.
	BatchSize int `yaml:"batch_size"`
}

// Channel is one event-log channel read live.
type Channel struct {
	Name     string   `yaml:"name"`
	Sources  []string `yaml:"sources"`
	MinLevel string   `yaml:"min_level"`
}

// Defaults.
const (
	DefaultPollInterval = 2 * time.Second
	DefaultBatchSize    = 500
)

// DefaultConfig returns the configuration with every default set.
func DefaultConfig() *Config {
	return &Config{
		Live:         runtime.GOOS == "windows",
		MinLevel:     event.LevelWarning.String(),
		PollInterval: DefaultPollInterval,
		BatchSize:    DefaultBatchSize,
	}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !c.Live && c.DropDir == "" {
		add("nothing to read: set drop_dir (a folder for exported *.evtx/*.xml logs) or, on Windows, live: true")
	}
	if _, err := parseMinLevel(c.MinLevel); err != nil {
		add("min_level %q: %v", c.MinLevel, err)
	}
	seen := map[string]bool{}
	for i, ch := range c.Channels {
		if strings.TrimSpace(ch.Name) == "" {
			add("channels[%d]: name is empty (e.g. Application)", i)
		}
		if seen[strings.ToLower(ch.Name)] {
			add("channels[%d]: %q listed twice", i, ch.Name)
		}
		seen[strings.ToLower(ch.Name)] = true
		if ch.MinLevel != "" {
			if _, err := parseMinLevel(ch.MinLevel); err != nil {
				add("channels[%d] (%s) min_level %q: %v", i, ch.Name, ch.MinLevel, err)
			}
		}
		for j, s := range ch.Sources {
			if strings.TrimSpace(s) == "" || strings.ContainsAny(s, `'"<>&`) {
				add("channels[%d] (%s) sources[%d] %q: want a source name such as MSCRMPlatform", i, ch.Name, j, s)
			}
		}
	}
	for j, s := range c.Sources {
		if strings.TrimSpace(s) == "" {
			add("sources[%d]: empty", j)
		}
	}
	if c.PollInterval < 100*time.Millisecond || c.PollInterval > 10*time.Minute {
		add("poll_interval %v: want 100ms to 10m", c.PollInterval)
	}
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		add("batch_size %d: want 1 to 10000", c.BatchSize)
	}
	return errors.Join(errs...)
}

func parseMinLevel(s string) (event.Level, error) {
	l, err := event.ParseLevel(s)
	if err != nil || l == event.LevelUnknown || l == event.LevelCritical {
		return 0, errors.New("want verbose, info, warning or error")
	}
	return l, nil
}

// ApplyPlan adds the channels and sources the packs ask for on this host's
// roles (implements collectors.Planned). They are read live, so the plan
// asks this collector to run only when live reading is on.
func (c *Config) ApplyPlan(p collectors.Plan) bool {
	for _, spec := range p.EventLog {
		i := slices.IndexFunc(c.Channels, func(ch Channel) bool { return strings.EqualFold(ch.Name, spec.Channel) })
		if i < 0 {
			c.Channels = append(c.Channels, Channel{Name: spec.Channel, MinLevel: spec.MinLevel, Sources: slices.Clone(spec.Sources)})
			continue
		}
		ch := &c.Channels[i]
		if len(ch.Sources) > 0 { // an operator's empty list means every source: keep it
			for _, s := range spec.Sources {
				if !slices.ContainsFunc(ch.Sources, func(x string) bool { return strings.EqualFold(x, s) }) {
					ch.Sources = append(ch.Sources, s)
				}
			}
		}
		if ch.MinLevel != "" && spec.MinLevel != "" {
			a, _ := parseMinLevel(ch.MinLevel)
			b, err := parseMinLevel(spec.MinLevel)
			if err == nil && b < a {
				ch.MinLevel = spec.MinLevel
			}
		}
	}
	return c.Live && len(p.EventLog) > 0
}

// channels are the live channels with their level resolved; Application
// is read even when neither the operator nor a plan names it.
func (c *Config) channels() []Channel {
	out := slices.Clone(c.Channels)
	if !slices.ContainsFunc(out, func(ch Channel) bool { return strings.EqualFold(ch.Name, "Application") }) {
		out = append([]Channel{{Name: "Application"}}, out...)
	}
	for i := range out {
		if out[i].MinLevel == "" {
			out[i].MinLevel = c.MinLevel
		}
	}
	return out
}
