//go:build windows

package discovery

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// SystemProbe reads this Windows host.
func SystemProbe() Probe { return winProbe{} }

type winProbe struct{}

func (winProbe) KeyExists(_ context.Context, path string) (bool, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	k.Close()
	return true, nil
}

func (winProbe) ServiceInstalled(_ context.Context, name string) (bool, error) {
	// SC_MANAGER_CONNECT and SERVICE_QUERY_STATUS need no administrator.
	m, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return false, err
	}
	defer windows.CloseServiceHandle(m)
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return false, err
	}
	s, err := windows.OpenService(m, n, windows.SERVICE_QUERY_STATUS)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	windows.CloseServiceHandle(s)
	return true, nil
}

func (winProbe) AppPools(context.Context) ([]string, error) {
	windir := os.Getenv("windir")
	if windir == "" {
		windir = `C:\Windows`
	}
	f, err := os.Open(filepath.Join(windir, `System32\inetsrv\config\applicationHost.config`))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // IIS is not installed
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseAppPools(f)
}
