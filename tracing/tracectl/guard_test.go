package tracectl

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGuardQuotaOnRealFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.log"), make([]byte, 3000), 0o644); err != nil {
		t.Fatal(err)
	}
	roomy := func(string) (Disk, error) { return Disk{Free: 500 << 30, Total: 1000 << 30}, nil }
	g := GuardOptions{QuotaBytes: 4096}.withDefaults()
	if r, why, err := g.check(dir, roomy); why != "" || err != nil || r.DirBytes != 3000 {
		t.Fatalf("under quota: %+v %q %v", r, why, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.log"), make([]byte, 2000), 0o644); err != nil {
		t.Fatal(err)
	}
	_, why, _ := g.check(dir, roomy)
	if !strings.Contains(why, "holds 4.9 KiB, over its quota of 4.0 KiB") {
		t.Errorf("over quota: %q", why)
	}
}

func TestGuardFreeSpace(t *testing.T) {
	dir := t.TempDir()
	g := GuardOptions{}.withDefaults()
	low := func(string) (Disk, error) { return Disk{Free: 1 << 30, Total: 100 << 30}, nil }
	if _, why, _ := g.check(dir, low); !strings.Contains(why, "has 1.0 GiB free (1.0%), below the floor of 2.0 GiB or 10%") {
		t.Errorf("low space: %q", why)
	}
	pct := func(string) (Disk, error) { return Disk{Free: 5 << 30, Total: 100 << 30}, nil }
	if _, why, _ := g.check(dir, pct); why == "" {
		t.Error("5 % free passed the 10 % floor")
	}
	off := GuardOptions{MinFreeBytes: -1, MinFreePercent: -1}.withDefaults()
	if _, why, _ := off.check(dir, low); why != "" {
		t.Errorf("checks turned off still tripped: %q", why)
	}
	broken := func(string) (Disk, error) { return Disk{}, errors.New("statfs: no such device") }
	if _, why, err := g.check(dir, broken); why != "" || err == nil {
		t.Errorf("an unmeasurable volume must not trip, only report: %q %v", why, err)
	}
	if r, _, err := g.check(dir, DiskUsage); err != nil || r.Disk.Total == 0 {
		t.Errorf("DiskUsage on this machine: %+v %v", r, err)
	}
	if err := (GuardOptions{MinFreePercent: 100}).Validate(); err == nil {
		t.Error("a 100 % floor was accepted")
	}
}
