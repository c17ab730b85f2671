package suppress

import (
	"time"

	"crmwatch/alerts"
)

// HostInfo tells the roles and server groups of a host.
type HostInfo interface {
	Roles(host string) []string
	Groups(host string) []string
}

// Set is the windows and silences in force.
type Set struct {
	Windows  []Window
	Silences []Silence
}

// Match returns what suppresses the alert at now — "maintenance:ID" or
// "silence:ID", windows first — or "".
func (s *Set) Match(a *alerts.Alert, hi HostInfo, now time.Time) string {
	if s == nil {
		return ""
	}
	for i := range s.Windows {
		if w := &s.Windows[i]; w.Active(now) && w.covers(a, hi) {
			return "maintenance:" + w.ID
		}
	}
	for i := range s.Silences {
		if x := &s.Silences[i]; x.Active(now) && x.matches(a, hi) {
			return "silence:" + x.ID
		}
	}
	return ""
}
