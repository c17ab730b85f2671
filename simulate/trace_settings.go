package simulate

import (
	"os"
	"path/filepath"
	"time"

	"crmwatch/tracing/settings"
)

// traceLive is what a host traces right now: the deployment-level values
// from Options, overlaid by the server-level values of its settings file
// (reference §3.3: if both are set, server-level wins).
type traceLive struct {
	enabled    bool
	categories string
	filter     categoryFilter
	callStack  bool
	fileSize   int64 // bytes
}

func liveFromOptions(o Options) traceLive {
	f, _ := parseCategories(o.Categories) // validated by New
	return traceLive{enabled: true, categories: o.Categories, filter: f, callStack: o.CallStack, fileSize: o.FileSizeLimit}
}

// settingsFile is one host's stand-in for HKLM\SOFTWARE\Microsoft\MSCRM:
// the file an agent's settings-file applier writes. Like CRM, the host
// re-reads it only when TraceRefresh changes; then it closes its open
// trace files, so the next record starts a new file whose header shows the
// new Categories and CallStackOn.
type settingsFile struct {
	path    string
	modTime time.Time
	size    int64
	loaded  bool
	refresh *int
	// failing is the last read error's text, so a bad file is logged once.
	failing string
}

// settingsPath is where host name reads its values ("" without SettingsDir).
func settingsPath(dir, host string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, host, settings.FileName)
}

// pollSettings re-reads the host's settings file when it changed on disk
// and applies it when TraceRefresh changed (or on the first read).
func (o *traceOutput) pollSettings() {
	sf := o.settings
	if sf == nil {
		return
	}
	fi, err := os.Stat(sf.path)
	switch {
	case os.IsNotExist(err):
		if sf.loaded && sf.refresh != nil {
			// The values were removed: deployment-level settings again.
			o.applySettings(settings.Values{})
		}
		sf.loaded, sf.refresh, sf.modTime, sf.size = true, nil, time.Time{}, 0
		return
	case err != nil:
		o.settingsError(err)
		return
	}
	if fi.ModTime().Equal(sf.modTime) && fi.Size() == sf.size {
		return // unchanged since the last look (a bad file is counted once)
	}
	sf.modTime, sf.size = fi.ModTime(), fi.Size()
	v, err := settings.ReadFile(sf.path)
	if err != nil {
		o.settingsError(err)
		return
	}
	sf.failing = ""
	first := !sf.loaded
	sf.loaded = true
	if !first && eqRefresh(sf.refresh, v.Refresh) {
		return // values written, TraceRefresh not changed yet: CRM waits too
	}
	sf.refresh = v.Refresh
	o.applySettings(v)
}

func eqRefresh(a, b *int) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// applySettings makes v (over the Options) the host's live trace
// configuration and closes the open files so the next record starts a new
// file with the new header.
func (o *traceOutput) applySettings(v settings.Values) {
	live := liveFromOptions(o.cfg.opts)
	if v.Enabled != nil {
		live.enabled = *v.Enabled
	}
	if v.Categories != nil {
		f, err := parseCategories(*v.Categories)
		if err != nil {
			o.settingsError(err)
			return
		}
		live.categories, live.filter = *v.Categories, f
	}
	if v.CallStack != nil {
		live.callStack = *v.CallStack
	}
	if v.FileSizeMB != nil {
		live.fileSize = int64(*v.FileSizeMB) << 20
	}
	o.live = live
	for _, p := range o.procs {
		if p != nil {
			if err := p.closeFile(); err != nil {
				o.cfg.log.Warn("closing a trace file for new trace settings", "err", err)
			}
		}
	}
	o.mu.Lock()
	o.st.SettingsReloads++
	o.mu.Unlock()
	o.cfg.log.Info("trace settings reloaded", "enabled", live.enabled, "categories", live.categories,
		"call_stack", live.callStack, "file_size_limit", live.fileSize)
}

func (o *traceOutput) settingsError(err error) {
	o.mu.Lock()
	o.st.SettingsErrors++
	o.mu.Unlock()
	if msg := err.Error(); msg != o.settings.failing {
		o.settings.failing = msg
		o.cfg.log.Warn("trace settings file not usable; the host keeps tracing as before", "err", err)
	}
}
