package tracectl

import (
	"context"
	"fmt"
	"sync"

	"crmwatch/tracing/settings"
)

// Applier reads and writes a CRM server's trace values: the registry on
// Windows (RegistryApplier), a settings file elsewhere and in every test
// (FileApplier, which the simulator obeys).
type Applier interface {
	// Read returns the values as they are now.
	Read(ctx context.Context) (settings.Values, error)
	// Write makes the trace values exactly v — a nil field deletes that
	// value, TraceRefresh in v is ignored — and then changes TraceRefresh
	// (current + 1, mod 100) so CRM re-reads them. It returns what is
	// written now, TraceRefresh included.
	Write(ctx context.Context, v settings.Values) (settings.Values, error)
	// String names where the values live, for messages.
	String() string
}

// FileApplier keeps the values in a settings file (settings.FileName in
// the agent's state directory by default).
type FileApplier struct {
	Path string
	mu   sync.Mutex
}

// Read implements Applier.
func (f *FileApplier) Read(context.Context) (settings.Values, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return settings.ReadFile(f.Path)
}

// Write implements Applier. The file is replaced atomically, values and
// the new TraceRefresh together, so a reader (the simulator) sees the
// values before it sees the refresh change.
func (f *FileApplier) Write(_ context.Context, v settings.Values) (settings.Values, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, err := settings.ReadFile(f.Path)
	if err != nil {
		return settings.Values{}, err
	}
	v.Refresh = settings.Ptr(cur.NextRefresh())
	if err := settings.WriteFile(f.Path, v); err != nil {
		return settings.Values{}, err
	}
	return v, nil
}

func (f *FileApplier) String() string { return "settings file " + f.Path }

// checkWritable refuses, before anything is written, an empty string
// value: an entry with no value breaks CRM tracing (KB 907490). Ranges are
// not checked here: a setting's values were checked when it was made, and
// values found on the server are restored as they were.
func checkWritable(v settings.Values) error {
	if v.Categories != nil && *v.Categories == "" {
		return fmt.Errorf("%s would be empty; an entry with no value breaks CRM tracing", settings.ValueCategories)
	}
	if v.FileSizeMB != nil && *v.FileSizeMB < 0 || v.Refresh != nil && *v.Refresh < 0 {
		return fmt.Errorf("a trace DWORD cannot be negative: %s", v)
	}
	return nil
}
