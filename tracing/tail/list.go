package tail

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Directory listings are reused while a directory's modification time
// (which moves when a file is created, removed or renamed in it) stays put,
// so a scan of thousands of idle files does not re-read and re-match every
// name. A listing is redone anyway when the time is too recent to trust
// (file systems with coarse timestamps) or older than relistEvery (network
// file systems that cache directory attributes; trustedColdFactor times
// longer while notifications are trusted, which also announce new files).
const (
	mtimeSlack  = 2 * time.Second
	relistEvery = 2 * time.Second
)

// dirListing is one directory's cached listing.
type dirListing struct {
	mtime  time.Time
	listed time.Time
	paths  []string // matching files, sorted
	gone   bool     // the directory could not be read at the last scan
}

// matcher is Options.Pattern compiled: "*" followed by a literal (the
// usual "*.log") is a suffix test, anything else filepath.Match.
type matcher struct {
	pattern string
	suffix  string
	simple  bool
}

func newMatcher(pattern string) matcher {
	rest, ok := strings.CutPrefix(pattern, "*")
	return matcher{pattern: pattern, suffix: rest, simple: ok && !strings.ContainsAny(rest, `*?[\`)}
}

func (m matcher) match(name string) bool {
	if m.simple {
		return strings.HasSuffix(name, m.suffix) // '*' matches any run of characters, dots included
	}
	ok, _ := filepath.Match(m.pattern, name)
	return ok
}

// list returns the matching files of every directory, sorted, whether a
// directory changed (a file created, removed or renamed in it) since the
// last scan, and whether any was read again (else the last listing stands
// as it was).
func (t *Tailer) list(now time.Time, trusted bool) (paths []string, moved, reread bool) {
	changed := false
	relist := relistEvery
	if trusted {
		relist *= trustedColdFactor
	}
	for i, d := range t.opts.Dirs {
		l := &t.dirs[i]
		fi, err := os.Stat(d)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) { // a folder not created yet is empty, not an error
				t.m.errors.WithLabelValues("scan").Inc()
			}
			if !l.gone { // it just went: what was in it is gone too
				changed, moved, reread = true, true, true
			}
			*l = dirListing{gone: true}
			continue
		}
		mt := fi.ModTime()
		if !l.listed.IsZero() && mt.Equal(l.mtime) && l.listed.Sub(mt) >= mtimeSlack && now.Sub(l.listed) < relist {
			continue
		}
		names, err := readNames(d)
		if err != nil {
			t.m.errors.WithLabelValues("scan").Inc()
			continue
		}
		moved, reread = moved || !mt.Equal(l.mtime), true
		fresh := make([]string, 0, len(l.paths))
		for _, n := range names {
			if t.match.match(n) {
				fresh = append(fresh, filepath.Join(d, n))
			}
		}
		slices.Sort(fresh)
		changed = changed || !slices.Equal(fresh, l.paths)
		l.paths, l.mtime, l.listed = fresh, mt, now
	}
	if changed || t.listed == nil {
		t.listed = t.listed[:0]
		for _, l := range t.dirs {
			t.listed = append(t.listed, l.paths...)
		}
		slices.Sort(t.listed)
		t.listed = slices.Compact(t.listed)
	}
	return t.listed, moved || changed, reread
}

func readNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}
