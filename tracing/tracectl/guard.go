package tracectl

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"
)

// Guard defaults (the one source of them; the agent's flags show these).
// The free-space floor matches the built-in pack's critical thresholds for
// the trace drive (trace_disk_critical_mb 2048, trace_disk_critical_percent
// 10), so the guard acts where the pack turns critical.
const (
	DefaultQuotaBytes     = 2 << 30
	DefaultMinFreeBytes   = 2048 << 20
	DefaultMinFreePercent = 10.0
	DefaultGuardEvery     = 30 * time.Second
)

// GuardOptions configure the disk guard. Zero values take the defaults; a
// negative QuotaBytes, MinFreeBytes or MinFreePercent turns that check off.
type GuardOptions struct {
	// QuotaBytes caps the trace directory's size (default 2 GiB).
	QuotaBytes int64 `yaml:"quota_bytes"`
	// MinFreeBytes is the volume's free-space floor (default 2 GiB).
	MinFreeBytes int64 `yaml:"min_free_bytes"`
	// MinFreePercent is the volume's free-space floor in percent (default 10).
	MinFreePercent float64 `yaml:"min_free_percent"`
	// Every is how often the guard looks while crmwatch holds tracing on
	// (default 30s).
	Every time.Duration `yaml:"every"`
}

func (g GuardOptions) withDefaults() GuardOptions {
	if g.QuotaBytes == 0 {
		g.QuotaBytes = DefaultQuotaBytes
	}
	if g.MinFreeBytes == 0 {
		g.MinFreeBytes = DefaultMinFreeBytes
	}
	if g.MinFreePercent == 0 {
		g.MinFreePercent = DefaultMinFreePercent
	}
	if g.Every <= 0 {
		g.Every = DefaultGuardEvery
	}
	return g
}

// Validate reports every problem at once.
func (g GuardOptions) Validate() error {
	var errs []error
	if g.MinFreePercent >= 100 {
		errs = append(errs, fmt.Errorf("trace guard: min free %g%% would always trip; want less than 100 (negative turns it off)", g.MinFreePercent))
	}
	if g.Every < 0 {
		errs = append(errs, fmt.Errorf("trace guard: interval %s is negative", g.Every))
	}
	return errors.Join(errs...)
}

// Disk is a volume's size and free space.
type Disk struct {
	Free, Total uint64
}

// DiskFunc measures the volume holding a path (DiskUsage by default).
type DiskFunc func(path string) (Disk, error)

// guardReading is one look at the trace directory and its volume.
type guardReading struct {
	DirBytes int64
	Disk     Disk
}

// check measures dir and says why the guard trips ("" when it does not).
func (g GuardOptions) check(dir string, disk DiskFunc) (guardReading, string, error) {
	var r guardReading
	if dir == "" {
		return r, "", nil
	}
	var errs []error
	if g.QuotaBytes > 0 {
		n, err := dirSize(dir)
		if err != nil {
			errs = append(errs, err)
		}
		r.DirBytes = n
		if n > g.QuotaBytes {
			return r, fmt.Sprintf("trace folder %s holds %s, over its quota of %s", dir, bytesText(n), bytesText(g.QuotaBytes)), nil
		}
	}
	if g.MinFreeBytes > 0 || g.MinFreePercent > 0 {
		d, err := disk(dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("free space of the volume of %s: %w", dir, err))
			return r, "", errors.Join(errs...)
		}
		r.Disk = d
		pct := 100.0
		if d.Total > 0 {
			pct = 100 * float64(d.Free) / float64(d.Total)
		}
		if g.MinFreeBytes > 0 && d.Free < uint64(g.MinFreeBytes) || g.MinFreePercent > 0 && pct < g.MinFreePercent {
			return r, fmt.Sprintf("the volume of trace folder %s has %s free (%.1f%%), below the floor of %s or %g%%",
				dir, bytesText(int64(d.Free)), pct, bytesText(g.MinFreeBytes), g.MinFreePercent), nil
		}
	}
	return r, "", errors.Join(errs...)
}

// dirSize sums the sizes of the regular files under dir; files that vanish
// while it walks (roll-over, retention) are skipped.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("size of trace folder %s: %w", dir, err)
	}
	return n, nil
}

// bytesText is "2.0 GiB", "512.0 MiB", "3.5 KiB" or "12 B".
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
