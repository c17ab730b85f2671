package rules

import (
	"time"

	"crmwatch/alerts"
)

// Defaults applied when a rule leaves a field empty. This is the one place
// they are defined; packs and docs refer to these names.
const (
	DefaultResolveAfter    = time.Hour        // event and correlation rules
	DefaultReopenWithin    = 15 * time.Minute // a condition back this soon reopens its alert
	DefaultWindow          = 5 * time.Minute  // threshold window
	DefaultAggregate       = AggLast          // threshold aggregate
	DefaultOp              = "gt"             // threshold comparison
	DefaultConsecutive     = 1                // threshold evaluations over a level before raising
	DefaultTrendSamples    = 3                // trend N
	DefaultTrendMax        = alerts.SeverityCritical
	DefaultMissingSeverity = alerts.SeverityError
)

// Bounds that keep memory flat whatever the input rate.
const (
	// MaxListed caps Hosts and Organizations of one alert.
	MaxListed = 50
	// MaxPattern caps an event message pattern in bytes: RE2 matches in
	// time linear in pattern size times message size, on every candidate
	// event, so a pattern must stay small.
	MaxPattern = 4096
	// maxSeriesPoints caps the samples kept per threshold series; a window
	// holding more keeps only the latest ones.
	maxSeriesPoints = 512
	// maxCorrelationEntries caps the events kept per correlation window.
	maxCorrelationEntries = 10000
	// maxRecent caps the resolved alerts remembered for reopening.
	maxRecent = 100000
	// maxUnsent caps alert changes kept for resending after a Sender error.
	maxUnsent = 100000
	// staleMin is the least time a counter series may stay silent before
	// its state is dropped and its alert resolved (see staleAfter).
	staleMin = 15 * time.Minute
	// sweepEvery is how often (in observation time) Tick looks for stale
	// series.
	sweepEvery = time.Minute
)

// defaultGroupBy is what one alert is about when a rule has no group_by.
func defaultGroupBy(k Kind) []string {
	switch k {
	case KindEvent:
		return []string{"host", "organization"}
	case KindThreshold, KindTrend:
		return []string{"host", "instance"}
	case KindMissing:
		return []string{"host"}
	}
	return nil
}
