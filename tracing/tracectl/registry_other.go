//go:build !windows

package tracectl

import (
	"errors"

	"crmwatch/tracing/settings"
)

// NewMSCRMRegistryApplier exists off Windows only so callers compile; its
// key cannot be opened (use a FileApplier there).
func NewMSCRMRegistryApplier() *RegistryApplier {
	return &RegistryApplier{
		Where: `HKLM\` + settings.RegistryKey,
		Open: func() (RegistryKey, error) {
			return nil, errors.New("the Windows registry exists only on Windows; use the settings file (--trace-settings file)")
		},
	}
}
