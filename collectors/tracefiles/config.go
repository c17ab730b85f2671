package tracefiles

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"crmwatch/event"
	"crmwatch/tracing/query"
	"crmwatch/tracing/tail"
)

// Config configures the trace-file collector. DefaultConfig is the one
// source of defaults; the agent decodes the operator's YAML on top of it.
type Config struct {
	// Dirs are the trace folders to follow. Default on Windows:
	// %ProgramFiles%\Microsoft Dynamics CRM\Trace (where CRM 2011+ writes its
	// server traces; the TraceDirectory registry value is ignored there).
	// Required on other systems.
	Dirs []string `yaml:"dirs"`
	// Pattern selects trace files in Dirs (filepath.Match glob). Default *.log.
	Pattern string `yaml:"pattern"`
	// PollInterval is how often the folders are rescanned (file-system
	// notifications only wake the scan early). Default 500ms; 10ms–1m.
	PollInterval time.Duration `yaml:"poll_interval"`
	// IdleFlush is how long a file must stay unchanged before its last
	// record counts as complete (a last line still missing its line end
	// waits up to 2s). It is the floor of the time from a record's write to
	// its shipping. Default 100ms; 10ms–1m.
	IdleFlush time.Duration `yaml:"idle_flush"`
	// BatchSize is the most records read before they are handed to the
	// transport (and the checkpoint moves). Default 500; 1–10000.
	BatchSize int `yaml:"batch_size"`
	// MaxRecordBytes caps one record; longer records are cut and marked
	// truncated. Default 1 MiB; 1 KiB–64 MiB.
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// RotatedPatterns say where rotated copies of trace files go when their
	// names are outside Pattern (globs; relative ones in each of Dirs),
	// e.g. ['*.log.1', 'archive/*.log']. When a file is truncated in place
	// (copytruncate) or replaced before all its records were read — while
	// the agent was stopped, say — its copy is found there by its first
	// bytes and the missing records are read from it. Default: none (the
	// loss is counted and logged with the file's name).
	RotatedPatterns []string `yaml:"rotated_patterns"`
	// StartAt says where files found on the very first start (no
	// checkpoints yet) are read from: "end" (default: history already on
	// disk is not shipped; `crmwatch trace` reads it) or "beginning".
	// Files that appear later are always read whole.
	StartAt string `yaml:"start_at"`
	// MinLevel is the least severe level shipped: verbose, info, warning
	// (default) or error. Verbose tracing writes gigabytes an hour; the
	// rules engine needs warnings and errors, and the full files stay on
	// disk for `crmwatch trace grep`. Set verbose to ship everything.
	MinLevel string `yaml:"min_level"`
	// Categories, if set, ship only these categories (`Platform.Sql`, or a
	// family as `Platform.*`). Default: every category.
	Categories []string `yaml:"categories"`
	// TimeZone is the zone the zone-less trace timestamps are in: "Local"
	// (default: the agent runs on the CRM server that wrote them) or an
	// IANA name.
	TimeZone string `yaml:"time_zone"`
	// OTLP optionally exports every record to an OpenTelemetry receiver
	// as well (off by default); see OTLPConfig.
	OTLP OTLPConfig `yaml:"otlp"`
}

// Start positions for Config.StartAt.
const (
	StartAtEnd       = "end"
	StartAtBeginning = "beginning"
)

// DefaultConfig returns the configuration with every default set.
func DefaultConfig() *Config {
	return &Config{
		Dirs:           defaultDirs(runtime.GOOS, os.Getenv("ProgramFiles")),
		Pattern:        tail.DefaultPattern,
		PollInterval:   tail.DefaultPollInterval,
		IdleFlush:      tail.DefaultIdleFlush,
		BatchSize:      tail.DefaultBatchRecords,
		MaxRecordBytes: tail.DefaultMaxRecordBytes,
		StartAt:        StartAtEnd,
		MinLevel:       event.LevelWarning.String(),
		TimeZone:       "Local",
		OTLP:           defaultOTLP(),
	}
}

// defaultDirs is the CRM server trace folder on Windows and nothing
// elsewhere (there is no CRM server to guess a folder for).
func defaultDirs(goos, programFiles string) []string {
	if goos != "windows" {
		return nil
	}
	if programFiles == "" {
		programFiles = `C:\Program Files`
	}
	return []string{programFiles + `\Microsoft Dynamics CRM\Trace`}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(c.Dirs) == 0 {
		add(`dirs: required: the CRM trace folder(s), e.g. C:\Program Files\Microsoft Dynamics CRM\Trace`)
	}
	for i, d := range c.Dirs {
		if d == "" {
			add("dirs[%d]: empty path", i)
		}
	}
	if _, err := filepath.Match(c.Pattern, "x.log"); err != nil || c.Pattern == "" {
		add("pattern %q: not a valid glob such as *.log", c.Pattern)
	}
	if c.PollInterval < 10*time.Millisecond || c.PollInterval > time.Minute {
		add("poll_interval %v: want 10ms to 1m", c.PollInterval)
	}
	if c.IdleFlush < 10*time.Millisecond || c.IdleFlush > time.Minute {
		add("idle_flush %v: want 10ms to 1m", c.IdleFlush)
	}
	for i, p := range c.RotatedPatterns {
		if _, err := filepath.Match(p, "x.log.1"); err != nil || p == "" {
			add("rotated_patterns[%d] %q: not a valid glob such as *.log.1 or archive/*.log", i, p)
		} else if p == c.Pattern {
			add("rotated_patterns[%d] %q: is the pattern itself; name where rotated copies go, e.g. *.log.1", i, p)
		}
	}
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		add("batch_size %d: want 1 to 10000", c.BatchSize)
	}
	if c.MaxRecordBytes < 1<<10 || c.MaxRecordBytes > 64<<20 {
		add("max_record_bytes %d: want 1024 to 67108864", c.MaxRecordBytes)
	}
	if c.StartAt != StartAtEnd && c.StartAt != StartAtBeginning {
		add("start_at %q: want %q or %q", c.StartAt, StartAtEnd, StartAtBeginning)
	}
	if _, err := c.matcher(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.location(); err != nil {
		add("time_zone %q: %v (want Local or an IANA name such as Europe/Berlin)", c.TimeZone, err)
	}
	errs = append(errs, c.OTLP.validate()...)
	return errors.Join(errs...)
}

// matcher compiles the level and category filter with the same code as
// `crmwatch trace grep`, so a category written one way means one thing.
func (c *Config) matcher() (*query.Matcher, error) {
	return levelMatcher("min_level", c.MinLevel, c.Categories)
}

// otlpMatcher selects the records exported over OTLP: otlp.min_level (or
// min_level) and the same categories.
func (c *Config) otlpMatcher() (*query.Matcher, error) {
	if c.OTLP.MinLevel == "" {
		return c.matcher()
	}
	return levelMatcher("otlp.min_level", c.OTLP.MinLevel, c.Categories)
}

func levelMatcher(key, level string, categories []string) (*query.Matcher, error) {
	l, err := event.ParseLevel(level)
	if err != nil || l == event.LevelUnknown || l == event.LevelCritical {
		return nil, fmt.Errorf("%s %q: want verbose, info, warning or error", key, level)
	}
	m, err := query.Filter{Level: level, Categories: categories}.Compile(time.Now(), time.UTC)
	if err != nil {
		return nil, fmt.Errorf("%s/categories: %w", key, err)
	}
	return m, nil
}

func (c *Config) location() (*time.Location, error) {
	if c.TimeZone == "" || c.TimeZone == "Local" {
		return time.Local, nil
	}
	return time.LoadLocation(c.TimeZone)
}
