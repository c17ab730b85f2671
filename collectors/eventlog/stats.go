package eventlog

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Stats summarise event-log files like `crmwatch trace stats` does trace
// files: counts by level, provider, host and channel, the time span, and
// the most frequent events.
type Stats struct {
	Files          int              `json:"files"`
	Records        int              `json:"records"`
	Malformed      int              `json:"malformed"`
	CorruptChunks  int              `json:"corrupt_chunks"`
	SkippedRecords int              `json:"skipped_records"`
	First          time.Time        `json:"first,omitzero"`
	Last           time.Time        `json:"last,omitzero"`
	ByLevel        map[string]int64 `json:"by_level"`
	ByProvider     map[string]int64 `json:"by_provider"`
	ByHost         map[string]int64 `json:"by_host"`
	ByChannel      map[string]int64 `json:"by_channel"`
	TopEvents      []EventCount     `json:"top_events"`

	events map[eventKey]*EventCount
}

// EventCount is how often one provider/event id/level occurred, with the
// first line of its first message.
type EventCount struct {
	Provider string `json:"provider"`
	EventID  uint16 `json:"event_id"`
	Level    string `json:"level"`
	Count    int64  `json:"count"`
	Message  string `json:"message"`
}

type eventKey struct {
	provider string
	id       uint16
	level    uint8
}

// NewStats returns empty statistics.
func NewStats() *Stats {
	return &Stats{ByLevel: map[string]int64{}, ByProvider: map[string]int64{}, ByHost: map[string]int64{},
		ByChannel: map[string]int64{}, events: map[eventKey]*EventCount{}}
}

// AddFile counts one file's reading.
func (s *Stats) AddFile(fs FileStats) {
	s.Files++
	s.Malformed += fs.Malformed
	s.CorruptChunks += fs.CorruptChunks
	s.SkippedRecords += fs.SkippedRecords
}

// Add counts one record.
func (s *Stats) Add(r *Record) {
	s.Records++
	if s.First.IsZero() || r.Time.Before(s.First) {
		s.First = r.Time
	}
	if r.Time.After(s.Last) {
		s.Last = r.Time
	}
	s.ByLevel[EventLevel(r.Level).String()]++
	s.ByProvider[r.Provider]++
	s.ByHost[r.Computer]++
	s.ByChannel[r.Channel]++
	k := eventKey{r.Provider, r.EventID, r.Level}
	ec := s.events[k]
	if ec == nil {
		msg, _, _ := strings.Cut(r.Text(), "\n")
		ec = &EventCount{Provider: r.Provider, EventID: r.EventID, Level: EventLevel(r.Level).String(), Message: msg}
		s.events[k] = ec
	}
	ec.Count++
}

// Finish fills TopEvents with the n most frequent events (most severe
// first among equal counts).
func (s *Stats) Finish(n int) {
	s.TopEvents = s.TopEvents[:0]
	for _, ec := range s.events {
		s.TopEvents = append(s.TopEvents, *ec)
	}
	slices.SortFunc(s.TopEvents, func(a, b EventCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Provider, b.Provider), cmp.Compare(a.EventID, b.EventID), strings.Compare(a.Level, b.Level))
	})
	if len(s.TopEvents) > n {
		s.TopEvents = s.TopEvents[:n]
	}
}
