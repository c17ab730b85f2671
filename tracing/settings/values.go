package settings

import (
	"fmt"
	"strconv"
	"strings"
)

// Registry value names under HKLM\SOFTWARE\Microsoft\MSCRM (reference §3.1).
const (
	ValueEnabled    = "TraceEnabled"       // DWORD 0/1
	ValueCategories = "TraceCategories"    // String, Category:Level;…
	ValueCallStack  = "TraceCallStack"     // DWORD 0/1
	ValueFileSize   = "TraceFileSizeLimit" // DWORD 1–100 (MB)
	ValueRefresh    = "TraceRefresh"       // DWORD 0–99; a change makes CRM re-read the others
)

// RegistryKey is where the CRM server roles read their trace values.
const RegistryKey = `SOFTWARE\Microsoft\MSCRM`

// Ranges and defaults of the values (reference §3.1).
const (
	MinFileSizeMB     = 1
	MaxFileSizeMB     = 100
	DefaultFileSizeMB = 5 // CRM's own default
	RefreshModulo     = 100
)

// Values are the trace values as the registry (or the settings file) holds
// them. A nil field is an absent value: restoring what was found deletes a
// value the agent had to create, because an entry with no value breaks
// tracing (KB 907490) and an absent one means "use the deployment-level
// setting".
type Values struct {
	Enabled    *bool   `json:"enabled,omitempty"`
	Categories *string `json:"categories,omitempty"`
	CallStack  *bool   `json:"call_stack,omitempty"`
	FileSizeMB *int    `json:"file_size_mb,omitempty"`
	Refresh    *int    `json:"refresh,omitempty"`
}

// Validate checks ranges and that no present value is empty.
func (v Values) Validate() error {
	var errs []string
	if v.Categories != nil {
		if _, err := ParseCategories(*v.Categories); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", ValueCategories, err))
		}
	}
	if v.FileSizeMB != nil && (*v.FileSizeMB < MinFileSizeMB || *v.FileSizeMB > MaxFileSizeMB) {
		errs = append(errs, fmt.Sprintf("%s %d: want %d to %d (MB)", ValueFileSize, *v.FileSizeMB, MinFileSizeMB, MaxFileSizeMB))
	}
	if v.Refresh != nil && (*v.Refresh < 0 || *v.Refresh >= RefreshModulo) {
		errs = append(errs, fmt.Sprintf("%s %d: want 0 to %d", ValueRefresh, *v.Refresh, RefreshModulo-1))
	}
	if len(errs) > 0 {
		return fmt.Errorf("trace values: %s", strings.Join(errs, "; "))
	}
	return nil
}

// NextRefresh is the TraceRefresh value that makes CRM re-read the others:
// the current one plus one, modulo 100 (an absent value counts as 0).
func (v Values) NextRefresh() int {
	if v.Refresh == nil {
		return 1
	}
	return (*v.Refresh + 1) % RefreshModulo
}

// Equal compares every value, presence included.
func (v Values) Equal(w Values) bool {
	return eqPtr(v.Enabled, w.Enabled) && eqPtr(v.Categories, w.Categories) && eqPtr(v.CallStack, w.CallStack) &&
		eqPtr(v.FileSizeMB, w.FileSizeMB) && eqPtr(v.Refresh, w.Refresh)
}

// SameTrace compares what CRM traces (every value but TraceRefresh).
func (v Values) SameTrace(w Values) bool {
	v.Refresh, w.Refresh = nil, nil
	return v.Equal(w)
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// String is a one-line "TraceEnabled=1 TraceCategories=*:Verbose …" with
// absent values left out ("(no trace values)" when all are).
func (v Values) String() string {
	var parts []string
	if v.Enabled != nil {
		parts = append(parts, ValueEnabled+"="+b01(*v.Enabled))
	}
	if v.Categories != nil {
		parts = append(parts, ValueCategories+"="+*v.Categories)
	}
	if v.CallStack != nil {
		parts = append(parts, ValueCallStack+"="+b01(*v.CallStack))
	}
	if v.FileSizeMB != nil {
		parts = append(parts, ValueFileSize+"="+strconv.Itoa(*v.FileSizeMB))
	}
	if v.Refresh != nil {
		parts = append(parts, ValueRefresh+"="+strconv.Itoa(*v.Refresh))
	}
	if len(parts) == 0 {
		return "(no trace values)"
	}
	return strings.Join(parts, " ")
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Ptr returns a pointer to v (for building Values).
func Ptr[T any](v T) *T { return &v }
