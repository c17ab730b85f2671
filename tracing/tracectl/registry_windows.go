//go:build windows

package tracectl

import (
	"golang.org/x/sys/windows/registry"

	"crmwatch/tracing/settings"
)

// NewMSCRMRegistryApplier writes the CRM server's trace values under
// HKLM\SOFTWARE\Microsoft\MSCRM. registry.Key implements RegistryKey as it
// is: a missing value is ERROR_FILE_NOT_FOUND, which matches fs.ErrNotExist.
func NewMSCRMRegistryApplier() *RegistryApplier {
	return &RegistryApplier{
		Where: `HKLM\` + settings.RegistryKey,
		Open: func() (RegistryKey, error) {
			return registry.OpenKey(registry.LOCAL_MACHINE, settings.RegistryKey, registry.QUERY_VALUE|registry.SET_VALUE)
		},
	}
}
