package perfcounters

import (
	"context"
	"strconv"
	"strings"

	"crmwatch/event"
)

// Source reads performance counters: PDH on Windows, /proc on Linux, or a
// simulated farm. The collector gives each interval group its own Source
// and calls Read from one goroutine.
type Source interface {
	// Read returns a reading for every concrete counter the source has for
	// the wanted paths, wildcard instances ("*") expanded. Paths the source
	// does not know are left out (the collector reports them as
	// unavailable). Rate counters (x/sec, % time) need two reads: the
	// first read of a rate counter returns nothing for it.
	Read(ctx context.Context, want []event.CounterPath) ([]Reading, error)
	// Close releases what the source holds (PDH queries).
	Close() error
}

// Reading is one counter value with its concrete instance.
type Reading struct {
	Path  event.CounterPath
	Value float64
}

// SourceFunc builds a Source for one interval group.
type SourceFunc func() (Source, error)

// instanceMatches reports whether a wanted instance ("*", a name or "")
// selects the concrete instance have. Instance names are compared in any
// letter case, as PDH does.
func instanceMatches(want, have string) bool {
	return want == "*" || strings.EqualFold(want, have)
}

// sameObject reports whether two paths name the same object and counter.
func sameObject(a, b event.CounterPath) bool {
	return strings.EqualFold(a.Object, b.Object) && strings.EqualFold(a.Counter, b.Counter)
}

// pathKey is the case-insensitive identity of a concrete path.
func pathKey(p event.CounterPath) string {
	p.Machine = ""
	return strings.ToLower(p.String())
}

// instanceNames gives duplicate names the #1, #2 … suffixes Windows uses
// (svchost, svchost#1, svchost#2), in the order given.
func instanceNames(names []string) []string {
	seen := make(map[string]int, len(names))
	out := make([]string, len(names))
	for i, n := range names {
		k := seen[n]
		seen[n] = k + 1
		out[i] = n
		if k > 0 {
			out[i] = n + "#" + strconv.Itoa(k)
		}
	}
	return out
}
