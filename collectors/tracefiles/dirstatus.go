package tracefiles

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/collectors"
)

// sourceKind names a trace folder in statuses and warnings.
const sourceKind = "trace directory"

// dirCheckEvery is the least time between two checks of the folders (the
// poll interval when that is longer).
const dirCheckEvery = time.Second

// dirStatuses are the label values of crmwatch_tracefiles_dir_status.
var dirStatuses = []string{collectors.SourceOK, collectors.SourceMissing, collectors.SourceUnreadable}

// dirWatch tells whether each trace folder exists and can be listed. The
// tailer keeps polling a folder that is missing (it may appear later), so
// without this a mistyped --trace-dir would be silent: the agent warns at
// start and at every change, shows the state on /metrics, and the agent's
// registration carries it to the centre.
type dirWatch struct {
	dirs  []string
	log   *slog.Logger
	gauge *prometheus.GaugeVec

	mu sync.Mutex
	st []collectors.SourceStatus
}

func newDirWatch(dirs []string, log *slog.Logger, reg prometheus.Registerer) (*dirWatch, error) {
	w := &dirWatch{dirs: dirs, log: log, gauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "crmwatch_tracefiles_dir_status",
		Help: "1 for the current state of each configured trace directory (ok, missing, unreadable), 0 for the others.",
	}, []string{"dir", "status"})}
	if reg != nil {
		if err := reg.Register(w.gauge); err != nil {
			return nil, fmt.Errorf("tracefiles: register metrics: %w", err)
		}
	}
	w.st = w.probe()
	w.publish(w.st)
	return w, nil
}

// statuses returns the latest state of every directory.
func (w *dirWatch) statuses() []collectors.SourceStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.st)
}

// run warns about every directory that is not readable now, then checks
// them every interval and logs each change, until ctx ends.
func (w *dirWatch) run(ctx context.Context, every time.Duration) {
	for _, s := range w.statuses() {
		if !s.OK() {
			w.warn(s, "")
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := w.probe()
		w.mu.Lock()
		prev := w.st
		w.st = now
		w.mu.Unlock()
		w.publish(now)
		for i, s := range now {
			switch {
			case s.Status == prev[i].Status:
			case s.OK():
				w.log.Info("trace directory is readable now; following it", "dir", s.Path, "was", prev[i].Status)
			default:
				w.warn(s, prev[i].Status)
			}
		}
	}
}

func (w *dirWatch) warn(s collectors.SourceStatus, was string) {
	attrs := []any{"dir", s.Path, "status", s.Status}
	if s.Detail != "" {
		attrs = append(attrs, "detail", s.Detail)
	}
	if was != "" {
		attrs = append(attrs, "was", was)
	}
	w.log.Warn("trace directory not readable: nothing is collected from it until it is; check --trace-dir or dirs", attrs...)
}

func (w *dirWatch) probe() []collectors.SourceStatus {
	out := make([]collectors.SourceStatus, len(w.dirs))
	for i, d := range w.dirs {
		status, detail := probeDir(d)
		out[i] = collectors.SourceStatus{Collector: Type, Source: sourceKind, Path: d, Status: status, Detail: detail}
	}
	return out
}

func (w *dirWatch) publish(st []collectors.SourceStatus) {
	for _, s := range st {
		for _, v := range dirStatuses {
			val := 0.0
			if v == s.Status {
				val = 1
			}
			w.gauge.WithLabelValues(s.Path, v).Set(val)
		}
	}
}

// probeDir says whether dir exists, is a directory and can be listed.
func probeDir(dir string) (status, detail string) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return collectors.SourceMissing, ""
	case err != nil:
		return collectors.SourceUnreadable, osReason(err)
	case !fi.IsDir():
		return collectors.SourceUnreadable, "not a directory"
	}
	f, err := os.Open(dir)
	if err != nil {
		return collectors.SourceUnreadable, osReason(err)
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); err != nil && !errors.Is(err, io.EOF) {
		return collectors.SourceUnreadable, osReason(err)
	}
	return collectors.SourceOK, ""
}

// osReason is the operating system's reason without the path, which the
// status names already.
func osReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
