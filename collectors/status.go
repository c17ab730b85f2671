package collectors

import "fmt"

// Source statuses: what a collector found where it was told to read.
const (
	SourceOK         = "ok"
	SourceMissing    = "missing"
	SourceUnreadable = "unreadable"
)

// SourceStatus is the state of one thing a collector reads (a trace
// directory, an event-log channel). The agent puts the statuses into its
// registration, so the centre can show "agent X: trace directory missing"
// instead of a host that is silently quiet.
type SourceStatus struct {
	Collector string `json:"collector"`
	// Source says what kind of thing Path is, e.g. "trace directory".
	Source string `json:"source"`
	Path   string `json:"path"`
	// Status is SourceOK, SourceMissing or SourceUnreadable.
	Status string `json:"status"`
	// Detail is why it is not ok (the operating system's error).
	Detail string `json:"detail,omitempty"`
}

// OK reports whether the source can be read.
func (s SourceStatus) OK() bool { return s.Status == SourceOK }

// Warning is the operator's line for a source that is not ok: what, where,
// and what is wrong; "" when it is ok.
func (s SourceStatus) Warning() string {
	if s.OK() {
		return ""
	}
	w := fmt.Sprintf("%s: %s %s is %s", s.Collector, s.Source, s.Path, s.Status)
	if s.Detail != "" {
		w += " (" + s.Detail + ")"
	}
	return w
}

// StatusReporter is implemented by collectors whose sources can be missing
// or unreadable. SourceStatuses must be safe to call from another
// goroutine while the collector runs, and is valid from New on.
type StatusReporter interface {
	SourceStatuses() []SourceStatus
}
