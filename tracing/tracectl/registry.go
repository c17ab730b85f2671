package tracectl

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sync"

	"crmwatch/tracing/settings"
)

// RegistryKey is the part of a Windows registry key the applier uses; on
// Windows it is golang.org/x/sys/windows/registry.Key (see
// registry_windows.go), in tests a map. A missing value must be reported
// as an error matching fs.ErrNotExist.
type RegistryKey interface {
	GetIntegerValue(name string) (uint64, uint32, error)
	GetStringValue(name string) (string, uint32, error)
	SetDWordValue(name string, value uint32) error
	SetStringValue(name, value string) error
	DeleteValue(name string) error
	Close() error
}

// RegistryApplier writes the trace values under
// HKLM\SOFTWARE\Microsoft\MSCRM exactly as KB 907490 describes them
// (reference §3.1): DWORDs TraceEnabled, TraceCallStack,
// TraceFileSizeLimit and TraceRefresh, the string TraceCategories; never
// an empty value; then a changed TraceRefresh so the CRM services re-read
// them without a restart.
type RegistryApplier struct {
	// Open opens the key for reading and writing (OpenMSCRMKey on Windows).
	Open func() (RegistryKey, error)
	// Where names the key in messages.
	Where string
	mu    sync.Mutex
}

func (r *RegistryApplier) String() string { return "registry " + r.Where }

// open opens the key, saying what to do when it cannot.
func (r *RegistryApplier) open() (RegistryKey, error) {
	k, err := r.Open()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("open %s: %w (is a Dynamics CRM server role installed here? --trace-settings off turns trace control off)", r.Where, err)
	case err != nil:
		return nil, fmt.Errorf("open %s: %w (the agent must run as an administrator or LocalSystem)", r.Where, err)
	}
	return k, nil
}

// Read implements Applier. Found values are returned as they are, even
// ones crmwatch would not write, so they can be restored unchanged.
func (r *RegistryApplier) Read(context.Context) (settings.Values, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, err := r.open()
	if err != nil {
		return settings.Values{}, err
	}
	defer k.Close()
	return readRegistry(k)
}

func readRegistry(k RegistryKey) (settings.Values, error) {
	var v settings.Values
	var errs []error
	dword := func(name string) *int {
		n, _, err := k.GetIntegerValue(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w (want a DWORD)", name, err))
			return nil
		case n > math.MaxInt32:
			errs = append(errs, fmt.Errorf("%s: %d does not fit a DWORD", name, n))
			return nil
		}
		return settings.Ptr(int(n))
	}
	flag := func(name string) *bool {
		if n := dword(name); n != nil {
			return settings.Ptr(*n != 0)
		}
		return nil
	}
	v.Enabled = flag(settings.ValueEnabled)
	v.CallStack = flag(settings.ValueCallStack)
	v.FileSizeMB = dword(settings.ValueFileSize)
	v.Refresh = dword(settings.ValueRefresh)
	s, _, err := k.GetStringValue(settings.ValueCategories)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		errs = append(errs, fmt.Errorf("%s: %w (want a string)", settings.ValueCategories, err))
	case s == "":
		// An empty entry breaks tracing (KB 907490); restoring it as
		// absent is the safe equivalent.
	default:
		v.Categories = settings.Ptr(s)
	}
	return v, errors.Join(errs...)
}

// Write implements Applier: every trace value set or deleted, then
// TraceRefresh changed (current + 1, mod 100).
func (r *RegistryApplier) Write(_ context.Context, v settings.Values) (settings.Values, error) {
	if err := checkWritable(v); err != nil {
		return settings.Values{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k, err := r.open()
	if err != nil {
		return settings.Values{}, err
	}
	defer k.Close()
	// Only TraceRefresh matters here; one of the wrong type reads as
	// absent and becomes 1, a change CRM notices either way.
	cur, _ := readRegistry(k)
	var errs []error
	setDWord := func(name string, p *int) {
		var err error
		if p == nil {
			err = k.DeleteValue(name)
			if errors.Is(err, fs.ErrNotExist) {
				err = nil
			}
		} else {
			err = k.SetDWordValue(name, uint32(*p))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	flag := func(b *bool) *int {
		if b == nil {
			return nil
		}
		if *b {
			return settings.Ptr(1)
		}
		return settings.Ptr(0)
	}
	setDWord(settings.ValueEnabled, flag(v.Enabled))
	setDWord(settings.ValueCallStack, flag(v.CallStack))
	setDWord(settings.ValueFileSize, v.FileSizeMB)
	if v.Categories == nil {
		if err := k.DeleteValue(settings.ValueCategories); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("%s: %w", settings.ValueCategories, err))
		}
	} else if err := k.SetStringValue(settings.ValueCategories, *v.Categories); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", settings.ValueCategories, err))
	}
	if err := errors.Join(errs...); err != nil {
		// TraceRefresh stays as it was: CRM keeps running on what it read.
		return settings.Values{}, fmt.Errorf("write trace values to %s: %w", r.Where, err)
	}
	v.Refresh = settings.Ptr(cur.NextRefresh())
	if err := k.SetDWordValue(settings.ValueRefresh, uint32(*v.Refresh)); err != nil {
		return settings.Values{}, fmt.Errorf("change %s in %s: %w (the values are written; CRM reads them at its next restart)", settings.ValueRefresh, r.Where, err)
	}
	return v, nil
}
