package main

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag value written "1GiB", "512MiB", "64MB", "1048576" or
// "-1" (no limit); binary and decimal units are both accepted because
// operators copy sizes from either kind of tool.
type byteSize struct{ n *int64 }

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

func (b byteSize) String() string {
	if b.n == nil {
		return "0"
	}
	return strconv.FormatInt(*b.n, 10)
}

func (b byteSize) Type() string { return "size" }

func (b byteSize) Set(s string) error {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "-1" || t == "unlimited" {
		*b.n = -1
		return nil
	}
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return fmt.Errorf("%q is not a size: write a whole number with an optional unit (KiB, MiB, GiB, KB, MB, GB), e.g. 512MiB, or -1 for no limit", s)
	}
	*b.n = v * mult
	return nil
}
