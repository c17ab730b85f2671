package tail

import "time"

// Notifications are trusted to announce writes only while they prove it:
// once a notification has named a file before the tailer found it grown,
// and as long as no scan finds a file grown that no notification named
// within suspectWait. While trusted, idle files are stat'ed only every
// trustedColdFactor × ColdPollInterval. Where write notifications do not
// arrive or lag (network shares; on Windows fsnotify watches
// FILE_NOTIFY_CHANGE_LAST_WRITE, which Microsoft documents as detected only
// when the file is written to disk, i.e. when the cache is flushed), scans keep finding
// unannounced growth and idle files keep being stat'ed every
// ColdPollInterval.
const (
	suspectWait       = time.Second
	distrustHold      = 2 * time.Minute
	trustedColdFactor = 8
)

type trust struct {
	proven     bool                 // a notification announced a write
	suspects   map[string]time.Time // growth found by a scan, its notification awaited
	distrusted time.Time            // last growth no notification announced
}

// announced records growth found because a notification named the file.
func (t *Tailer) announced() { t.trust.proven = true }

// grownByScan records growth a scan found in a file no notification named
// (yet).
func (t *Tailer) grownByScan(path string, now time.Time) {
	if t.opts.DisableNotify || t.hints.has(path) {
		return
	}
	if t.trust.suspects == nil {
		t.trust.suspects = map[string]time.Time{}
	}
	if _, ok := t.trust.suspects[path]; !ok {
		t.trust.suspects[path] = now
	}
}

// settle clears the suspects a notification has named since and
// distrusts notifications for any that waited longer than suspectWait.
func (t *Tailer) settle(named []string, now time.Time) {
	if len(t.trust.suspects) == 0 {
		return
	}
	for _, p := range named {
		delete(t.trust.suspects, p)
	}
	for p, at := range t.trust.suspects {
		if now.Sub(at) >= suspectWait {
			t.trust.distrusted = now
			delete(t.trust.suspects, p)
		}
	}
}

// coldEvery is how many scans apart an idle file is stat'ed.
func (t *Tailer) coldEvery(now time.Time) uint64 {
	every := uint64(max(1, t.opts.ColdPollInterval/t.opts.PollInterval))
	if t.trusted(now) {
		every *= trustedColdFactor
	}
	return every
}

func (t *Tailer) trusted(now time.Time) bool {
	return !t.opts.DisableNotify && t.trust.proven && now.Sub(t.trust.distrusted) >= distrustHold
}
