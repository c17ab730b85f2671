// Package event holds the data contracts that agents collect and ship to the
// server: Event (a discrete occurrence such as a trace record, an event-log
// entry or an SNMP trap) and Sample (one performance-counter reading).
//
// Every collector produces these, the transport carries them, and the rules
// engine consumes them; keep field names identical across JSON, YAML and the
// API so an operator sees one vocabulary.
package event

import (
	"fmt"
	"strings"
	"time"
)

// Level is the severity an observation was recorded with. The zero value is
// LevelUnknown so that a missing level is never mistaken for verbose.
type Level uint8

// Levels in increasing order of severity; comparisons such as
// ev.Level >= LevelWarning are meaningful.
const (
	LevelUnknown Level = iota
	LevelVerbose
	LevelInfo
	LevelWarning
	LevelError
	LevelCritical
)

var levelNames = [...]string{"unknown", "verbose", "info", "warning", "error", "critical"}

// String returns the lower-case name used in JSON, YAML and the CLI.
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("level(%d)", uint8(l))
}

// ParseLevel accepts the names CRM traces, the Windows event log and operators
// use (case-insensitive): verbose, info/information, warning, error,
// critical. It does not guess: anything else is an error.
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "verbose":
		return LevelVerbose, nil
	case "info", "information", "informational":
		return LevelInfo, nil
	case "warning", "warn":
		return LevelWarning, nil
	case "error":
		return LevelError, nil
	case "critical":
		return LevelCritical, nil
	case "unknown", "":
		return LevelUnknown, nil
	}
	return LevelUnknown, fmt.Errorf("unknown level %q (want verbose, info, warning, error or critical)", s)
}

// MarshalText implements encoding.TextMarshaler (JSON and YAML use it).
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Sources that are not Windows event-log sources.
const (
	SourceTrace = "trace" // CRM platform trace files
	SourceSNMP  = "snmp"  // SNMP traps
)

// Event is one discrete observation.
type Event struct {
	Time time.Time `json:"time"`
	Host string    `json:"host"`
	Role string    `json:"role,omitempty"`
	// Source is "trace", "snmp", or the event-log source (e.g. MSCRMPlatform).
	Source string `json:"source"`
	// EventID is the Windows event id (low 16 bits of the message id) or 0.
	EventID      uint32 `json:"event_id,omitempty"`
	Level        Level  `json:"level"`
	Organization string `json:"organization,omitempty"`
	Category     string `json:"category,omitempty"`
	Process      string `json:"process,omitempty"`
	RequestID    string `json:"request_id,omitempty"`
	Message      string `json:"message,omitempty"`
	// Fields holds source-specific extras (thread, user, activity id, trap
	// varbinds, error-report fields, …).
	Fields map[string]string `json:"fields,omitempty"`
	Origin Origin            `json:"origin"`
}

// Origin says where an event came from so it can be traced back.
type Origin struct {
	Collector string `json:"collector"`
	File      string `json:"file,omitempty"`
	// Fingerprint identifies the file independent of its name (hex of a hash
	// of its first bytes); with Offset it identifies a record across
	// renames, so a receiver can drop a record it has already seen.
	Fingerprint string `json:"fingerprint,omitempty"`
	Offset      int64  `json:"offset,omitempty"`
}

// Sample is one performance-counter reading.
type Sample struct {
	Time time.Time `json:"time"`
	Host string    `json:"host"`
	Role string    `json:"role,omitempty"`
	// Counter is the full path \Object(instance)\Counter.
	Counter string  `json:"counter"`
	Value   float64 `json:"value"`
}

// Batch is the unit agents publish: events and samples from one host.
type Batch struct {
	Host    string   `json:"host"`
	Events  []Event  `json:"events,omitempty"`
	Samples []Sample `json:"samples,omitempty"`
}

// Len is the number of observations in the batch.
func (b Batch) Len() int { return len(b.Events) + len(b.Samples) }
