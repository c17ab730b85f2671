package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// FileName is the settings file's name in an agent's state directory: the
// stand-in for the registry key off Windows and in every test, read by the
// simulator (`crmwatch simulate --settings-dir`).
const FileName = "trace-settings.json"

// MaxFileSize bounds what ReadFile reads; a real file is ~150 bytes.
const MaxFileSize = 64 << 10

// fileValues is the file's form: the registry's value names and types
// (DWORDs as numbers), so the file reads like the key it stands for:
//
//	{"TraceEnabled": 1, "TraceCategories": "*:Verbose", "TraceCallStack": 0,
//	 "TraceFileSizeLimit": 5, "TraceRefresh": 7}
type fileValues struct {
	Enabled    *int    `json:"TraceEnabled,omitempty"`
	Categories *string `json:"TraceCategories,omitempty"`
	CallStack  *int    `json:"TraceCallStack,omitempty"`
	FileSizeMB *int    `json:"TraceFileSizeLimit,omitempty"`
	Refresh    *int    `json:"TraceRefresh,omitempty"`
}

// ParseFile reads a settings file's content strictly: unknown keys, wrong
// types, out-of-range DWORDs and empty strings are errors that name the
// value. An empty file holds no values.
func ParseFile(data []byte) (Values, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Values{}, nil
	}
	var f fileValues
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Values{}, fmt.Errorf("trace settings file: %w (want a JSON object of %s, %s, %s, %s, %s)",
			err, ValueEnabled, ValueCategories, ValueCallStack, ValueFileSize, ValueRefresh)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Values{}, errors.New("trace settings file: text after the JSON object")
	}
	var errs []error
	flag := func(name string, p *int) *bool {
		if p == nil {
			return nil
		}
		if *p != 0 && *p != 1 {
			errs = append(errs, fmt.Errorf("%s %d: want 0 or 1", name, *p))
		}
		return Ptr(*p == 1)
	}
	v := Values{Enabled: flag(ValueEnabled, f.Enabled), Categories: f.Categories, CallStack: flag(ValueCallStack, f.CallStack),
		FileSizeMB: f.FileSizeMB, Refresh: f.Refresh}
	if v.Categories != nil && *v.Categories == "" {
		errs = append(errs, fmt.Errorf("%s is empty: an entry with no value breaks CRM tracing (KB 907490)", ValueCategories))
		v.Categories = nil
	}
	if err := v.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Values{}, fmt.Errorf("trace settings file: %w", err)
	}
	return v, nil
}

// FormatFile renders v in the file's form.
func FormatFile(v Values) []byte {
	f := fileValues{Categories: v.Categories, FileSizeMB: v.FileSizeMB, Refresh: v.Refresh}
	if v.Enabled != nil {
		f.Enabled = Ptr(boolInt(*v.Enabled))
	}
	if v.CallStack != nil {
		f.CallStack = Ptr(boolInt(*v.CallStack))
	}
	data, _ := json.MarshalIndent(f, "", "  ") // plain fields: cannot fail
	return append(data, '\n')
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ReadFile reads the settings file at path; a missing file holds no values.
func ReadFile(path string) (Values, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Values{}, nil
	}
	if err != nil {
		return Values{}, fmt.Errorf("read trace settings %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return Values{}, fmt.Errorf("read trace settings %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return Values{}, fmt.Errorf("read trace settings %s: larger than %d bytes; not a trace settings file", path, MaxFileSize)
	}
	v, err := ParseFile(data)
	if err != nil {
		return Values{}, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// WriteFile replaces the settings file atomically (write, sync, rename), so
// a reader never sees half a file.
func WriteFile(path string, v Values) error {
	if err := v.Validate(); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write trace settings %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, ".trace-settings-*")
	if err != nil {
		return fmt.Errorf("write trace settings %s: %w", path, err)
	}
	_, werr := tmp.Write(FormatFile(v))
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write trace settings %s: %w", path, werr)
	}
	return nil
}
