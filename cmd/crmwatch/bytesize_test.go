package main

import (
	"strings"
	"testing"
)

func TestByteSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1GiB": 1 << 30, "512MiB": 512 << 20, "64 MiB": 64 << 20, "64mb": 64e6, "2G": 2 << 30,
		"1048576": 1 << 20, "-1": -1, "unlimited": -1, "10KiB": 10 << 10,
	} {
		var n int64
		if err := (byteSize{&n}).Set(in); err != nil || n != want {
			t.Errorf("Set(%q) = %d, %v; want %d", in, n, err, want)
		}
	}
	for _, in := range []string{"", "lots", "1.5GiB", "-5", "GiB", "99999999999999TiB"} {
		var n int64
		err := (byteSize{&n}).Set(in)
		if err == nil || !strings.Contains(err.Error(), "e.g. 512MiB") {
			t.Errorf("Set(%q): error %v, want one that shows how to write a size", in, err)
		}
	}
}

// A size the server refuses is named before anything starts.
func TestServerStreamMaxBytesTooSmall(t *testing.T) {
	r := runRoot(t, "server", "--data", t.TempDir(), "--stream-max-bytes", "4KiB")
	if r.code == 0 || !strings.Contains(r.stderr, "--stream-max-bytes 4096") || !strings.Contains(r.stderr, "at least 1MiB") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = runRoot(t, "server", "--stream-max-bytes", "huge")
	if r.code == 0 || !strings.Contains(r.stderr, `"huge" is not a size`) {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
