package tracectl

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"crmwatch/tracing/settings"
)

// fakeKey is a registry key in memory with the value types Windows keeps:
// the seam the Windows registry sits behind (registry_windows.go).
type fakeKey struct {
	dwords  map[string]uint32
	strs    map[string]string
	failSet string // a value whose write fails
	writes  []string
}

const (
	regSZ    = 1
	regDWORD = 4
)

var errType = errors.New("unexpected value type")

func newFakeKey() *fakeKey {
	return &fakeKey{dwords: map[string]uint32{}, strs: map[string]string{}}
}

func (k *fakeKey) GetIntegerValue(name string) (uint64, uint32, error) {
	if v, ok := k.dwords[name]; ok {
		return uint64(v), regDWORD, nil
	}
	if _, ok := k.strs[name]; ok {
		return 0, regSZ, errType
	}
	return 0, 0, fs.ErrNotExist
}

func (k *fakeKey) GetStringValue(name string) (string, uint32, error) {
	if v, ok := k.strs[name]; ok {
		return v, regSZ, nil
	}
	if _, ok := k.dwords[name]; ok {
		return "", regDWORD, errType
	}
	return "", 0, fs.ErrNotExist
}

func (k *fakeKey) SetDWordValue(name string, v uint32) error {
	if name == k.failSet {
		return errors.New("access is denied")
	}
	delete(k.strs, name)
	k.dwords[name] = v
	k.writes = append(k.writes, fmt.Sprintf("%s=%d", name, v))
	return nil
}

func (k *fakeKey) SetStringValue(name, v string) error {
	if name == k.failSet {
		return errors.New("access is denied")
	}
	if v == "" {
		panic("an empty registry value was written: it breaks CRM tracing")
	}
	delete(k.dwords, name)
	k.strs[name] = v
	k.writes = append(k.writes, fmt.Sprintf("%s=%q", name, v))
	return nil
}

func (k *fakeKey) DeleteValue(name string) error {
	_, d := k.dwords[name]
	_, s := k.strs[name]
	if !d && !s {
		return fs.ErrNotExist
	}
	delete(k.dwords, name)
	delete(k.strs, name)
	k.writes = append(k.writes, "delete "+name)
	return nil
}

func (k *fakeKey) Close() error { return nil }

func registryOn(k *fakeKey) *RegistryApplier {
	return &RegistryApplier{Where: `HKLM\SOFTWARE\Microsoft\MSCRM`, Open: func() (RegistryKey, error) { return k, nil }}
}

// TestRegistryApplierWritesWhatMicrosoftsCollectorWrites: the values of
// reference §3.1 with their types, TraceRefresh changed last (+1 mod 100),
// and a restore that puts back exactly what was found — deleting values
// that were absent, and changing TraceRefresh again.
func TestRegistryApplierWritesWhatMicrosoftsCollectorWrites(t *testing.T) {
	ctx := context.Background()
	k := newFakeKey()
	k.dwords["TraceEnabled"], k.dwords["TraceRefresh"] = 0, 99
	r := registryOn(k)
	found, err := r.Read(ctx)
	if err != nil || found.String() != "TraceEnabled=0 TraceRefresh=99" {
		t.Fatalf("found %s, %v", found, err)
	}
	on := settings.Setting{Enabled: true, Categories: "*:Verbose", CallStack: true, FileSizeMB: 100}
	written, err := r.Write(ctx, on.Values(found))
	if err != nil {
		t.Fatal(err)
	}
	want := `TraceEnabled=1 TraceCallStack=1 TraceFileSizeLimit=100 TraceCategories="*:Verbose" TraceRefresh=0`
	if got := strings.Join(k.writes, " "); got != want {
		t.Errorf("writes:\n got %s\nwant %s", got, want)
	}
	if written.String() != "TraceEnabled=1 TraceCategories=*:Verbose TraceCallStack=1 TraceFileSizeLimit=100 TraceRefresh=0" {
		t.Errorf("written %s", written)
	}
	k.writes = nil
	if _, err := r.Write(ctx, found); err != nil {
		t.Fatal(err)
	}
	want = `TraceEnabled=0 delete TraceCallStack delete TraceFileSizeLimit delete TraceCategories TraceRefresh=1`
	if got := strings.Join(k.writes, " "); got != want {
		t.Errorf("restore:\n got %s\nwant %s", got, want)
	}
	back, _ := r.Read(ctx)
	if !back.SameTrace(found) || *back.Refresh == *found.Refresh {
		t.Errorf("after restore %s, want %s with a changed TraceRefresh", back, found)
	}
}

func TestRegistryApplierRefusesAndReports(t *testing.T) {
	ctx := context.Background()
	k := newFakeKey()
	r := registryOn(k)
	if _, err := r.Write(ctx, settings.Values{Categories: settings.Ptr("")}); err == nil || !strings.Contains(err.Error(), "would be empty") {
		t.Errorf("empty categories: %v", err)
	}
	if _, err := r.Write(ctx, settings.Values{FileSizeMB: settings.Ptr(-1)}); err == nil || !strings.Contains(err.Error(), "cannot be negative") {
		t.Errorf("file size -1: %v", err)
	}
	// Found values are restored as they were, even out of the documented
	// range; an empty TraceCategories found is restored as absent.
	k.dwords["TraceFileSizeLimit"] = 0
	k.strs["TraceCategories"] = ""
	found, err := r.Read(ctx)
	if err != nil || found.String() != "TraceFileSizeLimit=0" {
		t.Fatalf("odd values found: %s %v", found, err)
	}
	k.writes = nil
	if _, err := r.Write(ctx, found); err != nil || !strings.Contains(strings.Join(k.writes, " "), "TraceFileSizeLimit=0 delete TraceCategories") {
		t.Errorf("restore of odd values: %v %v", k.writes, err)
	}
	k.dwords, k.strs, k.writes = map[string]uint32{}, map[string]string{}, nil
	// A failed value write leaves TraceRefresh alone: CRM keeps what it read.
	k.failSet = "TraceCallStack"
	_, err = r.Write(ctx, settings.Values{Enabled: settings.Ptr(true), CallStack: settings.Ptr(true)})
	if err == nil || !strings.Contains(err.Error(), "TraceCallStack: access is denied") {
		t.Errorf("failed write: %v", err)
	}
	if _, ok := k.dwords["TraceRefresh"]; ok {
		t.Error("TraceRefresh changed after a failed write")
	}
	// A value of the wrong type is reported by name.
	k.failSet = ""
	delete(k.dwords, "TraceEnabled")
	k.strs["TraceEnabled"] = "1"
	if _, err := r.Read(ctx); err == nil || !strings.Contains(err.Error(), "TraceEnabled: unexpected value type (want a DWORD)") {
		t.Errorf("wrong type: %v", err)
	}
	open := &RegistryApplier{Where: "HKLM", Open: func() (RegistryKey, error) { return nil, errors.New("Access is denied.") }}
	if _, err := open.Read(ctx); err == nil || !strings.Contains(err.Error(), "administrator or LocalSystem") {
		t.Errorf("open failure: %v", err)
	}
	missing := &RegistryApplier{Where: "HKLM", Open: func() (RegistryKey, error) { return nil, fs.ErrNotExist }}
	if _, err := missing.Write(ctx, settings.Values{Enabled: settings.Ptr(true)}); err == nil || !strings.Contains(err.Error(), "is a Dynamics CRM server role installed here?") {
		t.Errorf("no MSCRM key: %v", err)
	}
}

func TestFileApplierChangesTraceRefreshWithTheValues(t *testing.T) {
	ctx := context.Background()
	f := &FileApplier{Path: t.TempDir() + "/" + settings.FileName}
	if v, err := f.Read(ctx); err != nil || v.String() != "(no trace values)" {
		t.Fatalf("new file: %s %v", v, err)
	}
	for want := 1; want <= 3; want++ {
		w, err := f.Write(ctx, settings.Values{Enabled: settings.Ptr(true), Refresh: settings.Ptr(50)})
		if err != nil || *w.Refresh != want {
			t.Fatalf("write %d: refresh %v, %v (TraceRefresh in the values is ignored)", want, w.Refresh, err)
		}
	}
	if got, _ := f.Read(ctx); got.String() != "TraceEnabled=1 TraceRefresh=3" {
		t.Errorf("file holds %s", got)
	}
}
