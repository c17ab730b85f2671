package simulate

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"
)

// Defaults: the one place they are defined (the CLI reads them from here).
const (
	DefaultHosts         = 3
	DefaultOrgs          = 5
	DefaultRate          = 20.0            // trace records per second per host
	DefaultFileSizeLimit = 5 * 1024 * 1024 // CRM TraceFileSizeLimit default: 5 MB
	DefaultCategories    = "*:Verbose"
	DefaultSpeed         = 1.0
	DefaultFlushInterval = 100 * time.Millisecond

	// MinFileSizeLimit keeps a roll-over file able to hold its header and a
	// record or two; tests use values just above it.
	MinFileSizeLimit = 1024
	maxHosts         = 999
	maxOrgs          = 10000
	maxRate          = 1e6
	maxSpeed         = 1e6
)

// Options configures a simulated farm. The zero value of every field except
// Out means "use the default".
type Options struct {
	// Out is the root directory; each host writes under <Out>/<host>/Trace/.
	// Required.
	Out string
	// Hosts is the number of CRM servers (default 3, at most 999). Host i
	// gets a role mix in the order AppServer front end, back end
	// (AsyncService+SandboxService), DeploymentService, repeated per scale
	// group; see Host.
	Hosts int
	// Orgs is the number of tenant organizations (default 5, at most 10000).
	Orgs int
	// Rate is the number of trace records written per second of simulated
	// time per host (default 20). Records the Categories filter drops do not
	// count.
	Rate float64
	// Seed makes everything written reproducible: same Seed, Start and
	// options give byte-identical files from Generate.
	Seed int64
	// Faults are active from the start until cleared (names from Faults()).
	Faults []string
	// FileSizeLimit is the trace-file roll-over size in bytes (CRM's
	// TraceFileSizeLimit, default 5 MB, at least 1024). A full file is closed
	// and the next one gets sequence number N+1.
	FileSizeLimit int64
	// Start is the simulated clock at the first record (zero: now). Its
	// location is the servers' local time zone.
	Start time.Time
	// Speed is simulated seconds per real second in Run (default 1); above 1
	// the clock runs fast, so date changes and roll-overs come sooner.
	Speed float64
	// Categories is the TraceCategories value written to every header and
	// applied to what is written, e.g. "*:Verbose" (default), "*:Error",
	// "Platform.Sql:Verbose;Platform.*:Warning".
	Categories string
	// CallStack is TraceCallStack: records carry call-stack lines and the
	// header says CallStackOn: True (default false, CRM's default).
	CallStack bool
	// LF writes "\n" line ends; by default lines end in "\r\n" as the
	// Windows servers write them.
	LF bool
	// SettingsDir, when set, makes every host read
	// <SettingsDir>/<host>/trace-settings.json (the layout of agent state
	// directories), the stand-in for its registry trace values: like CRM,
	// a host re-reads it when TraceRefresh changes, and the values present
	// (TraceEnabled, TraceCategories, TraceCallStack, TraceFileSizeLimit in
	// MB) win over Categories, CallStack and FileSizeLimit above.
	SettingsDir string
	// FlushInterval is how often Run pushes buffered output to the files
	// (default 100ms); tailers see records at most this late.
	FlushInterval time.Duration
	// Growth is the business load's relative growth per simulated day from
	// Start (default 0: a steady farm); the history back-fill uses it.
	Growth float64
	// Logger receives start/stop and roll-over messages (default: discard).
	Logger *slog.Logger
}

// withDefaults returns o with every unset field at its default.
func (o Options) withDefaults() Options {
	if o.Hosts == 0 {
		o.Hosts = DefaultHosts
	}
	if o.Orgs == 0 {
		o.Orgs = DefaultOrgs
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.FileSizeLimit == 0 {
		o.FileSizeLimit = DefaultFileSizeLimit
	}
	if o.Categories == "" {
		o.Categories = DefaultCategories
	}
	if o.Speed == 0 {
		o.Speed = DefaultSpeed
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.Start.IsZero() {
		o.Start = time.Now()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Validate reports every problem of o (after defaults) at once.
func (o Options) Validate() error {
	var errs []error
	if o.Out == "" {
		errs = append(errs, errors.New("out: the output directory is required"))
	}
	if o.Hosts < 1 || o.Hosts > maxHosts {
		errs = append(errs, fmt.Errorf("hosts: %d is out of range (1..%d)", o.Hosts, maxHosts))
	}
	if o.Orgs < 1 || o.Orgs > maxOrgs {
		errs = append(errs, fmt.Errorf("orgs: %d is out of range (1..%d)", o.Orgs, maxOrgs))
	}
	if !(o.Rate > 0 && o.Rate <= maxRate) || math.IsNaN(o.Rate) {
		errs = append(errs, fmt.Errorf("rate: %g records/s is out of range (>0..%g)", o.Rate, float64(maxRate)))
	}
	if o.FileSizeLimit < MinFileSizeLimit {
		errs = append(errs, fmt.Errorf("file size limit: %d bytes is below the minimum %d", o.FileSizeLimit, MinFileSizeLimit))
	}
	if !(o.Speed > 0 && o.Speed <= maxSpeed) || math.IsNaN(o.Speed) {
		errs = append(errs, fmt.Errorf("speed: %g is out of range (>0..%g)", o.Speed, float64(maxSpeed)))
	}
	if !(o.Growth >= 0 && o.Growth <= 1) {
		errs = append(errs, fmt.Errorf("growth: %g per day is out of range (0..1)", o.Growth))
	}
	if o.FlushInterval < 0 {
		errs = append(errs, fmt.Errorf("flush interval: %s is negative", o.FlushInterval))
	}
	if _, err := parseCategories(o.Categories); err != nil {
		errs = append(errs, fmt.Errorf("categories: %w", err))
	}
	for _, name := range o.Faults {
		if _, err := lookupFault(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
