package perfcounters

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"crmwatch/event"
)

// fakePDH behaves like pdh.dll for the counters it knows: instance lists
// with duplicate names, rate counters that report
// PDH_CSTATUS_INVALID_DATA until the query was collected twice, and
// PDH_CSTATUS_NO_COUNTER for anything else.
type fakePDH struct {
	counters map[string]fakeCounter // English path (lower case) → behaviour
	handles  []string
	collects int
	adds     map[string]int
	closed   bool
	failNext error
}

type fakeCounter struct {
	rate      bool
	instances []string // nil: an object without instances
	value     func(collects int, instance int) float64
}

func newFakePDH() *fakePDH {
	return &fakePDH{adds: map[string]int{}, counters: map[string]fakeCounter{
		`\processor(*)\% processor time`: {rate: true, instances: []string{"0", "1", "_Total"},
			value: func(n, i int) float64 { return float64(10*n + i) }},
		`\memory\available mbytes`: {value: func(n, _ int) float64 { return 4096 - float64(n) }},
		`\process(*)\handle count`: {instances: []string{"svchost", "w3wp", "svchost", "svchost"},
			value: func(_, i int) float64 { return float64(100 + i) }},
		`\crm async service(mscrmasyncservice)\workflow operations outstanding`: {instances: []string{"mscrmasyncservice"},
			value: func(n, _ int) float64 { return 7 }},
	}}
}

const pdhCstatusNoCounter = 0xC0000BB9

func (f *fakePDH) OpenQuery() (uintptr, error) { f.closed = false; return 1, nil }

func (f *fakePDH) AddEnglishCounter(_ uintptr, path string) (uintptr, error) {
	k := strings.ToLower(path)
	f.adds[k]++
	if _, ok := f.counters[k]; !ok {
		return 0, &pdhError{"PdhAddEnglishCounterW " + path, pdhCstatusNoCounter}
	}
	f.handles = append(f.handles, k)
	return uintptr(len(f.handles)), nil
}

func (f *fakePDH) CollectQueryData(uintptr) error {
	if err := f.failNext; err != nil {
		f.failNext = nil
		return err
	}
	f.collects++
	return nil
}

func (f *fakePDH) FormattedArray(h uintptr) ([]pdhItem, error) {
	c := f.counters[f.handles[h-1]]
	if c.rate && f.collects < 2 {
		return nil, &pdhError{"PdhGetFormattedCounterArrayW", pdhInvalidData}
	}
	if c.instances == nil {
		return []pdhItem{{Value: c.value(f.collects, 0)}}, nil
	}
	out := make([]pdhItem, len(c.instances))
	for i, in := range c.instances {
		out[i] = pdhItem{Name: in, Value: c.value(f.collects, i)}
	}
	return out, nil
}

func (f *fakePDH) CloseQuery(uintptr) error { f.closed = true; return nil }

func paths(t *testing.T, ps ...string) []event.CounterPath { t.Helper(); return pathsB(t, ps...) }

func pathsB(t testing.TB, ps ...string) []event.CounterPath {
	t.Helper()
	out := make([]event.CounterPath, len(ps))
	for i, p := range ps {
		cp, err := event.ParseCounterPath(p)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = cp
	}
	return out
}

func readingStrings(rs []Reading) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Path.String() + "=" + formatFloat(r.Value)
	}
	slices.Sort(out)
	return out
}

func TestPDHTwoSampleRuleAndWildcards(t *testing.T) {
	api := newFakePDH()
	src := newPDHSource(api)
	want := paths(t, `\Processor(*)\% Processor Time`, `\Memory\Available MBytes`, `\Process(*)\Handle Count`,
		`\CRM Async Service(mscrmasyncservice)\Workflow Operations Outstanding`, `\CRM Server(*)\Failed Organization Service Requests`)
	ctx := context.Background()
	first, err := src.Read(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	// After one collection the rate counter has no value yet; the gauges do.
	got := readingStrings(first)
	wantFirst := []string{
		`\CRM Async Service(mscrmasyncservice)\Workflow Operations Outstanding=7`,
		`\Memory\Available MBytes=4095`,
		`\Process(svchost#1)\Handle Count=102`, `\Process(svchost#2)\Handle Count=103`,
		`\Process(svchost)\Handle Count=100`, `\Process(w3wp)\Handle Count=101`,
	}
	if !slices.Equal(got, wantFirst) {
		t.Errorf("first read:\n got  %q\n want %q", got, wantFirst)
	}
	second, err := src.Read(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	got = readingStrings(second)
	for _, w := range []string{`\Processor(0)\% Processor Time=20`, `\Processor(1)\% Processor Time=21`, `\Processor(_Total)\% Processor Time=22`} {
		if !slices.Contains(got, w) {
			t.Errorf("second read lacks %s: %q", w, got)
		}
	}
	// A counter PDH does not have (CRM not installed) is not asked for on
	// every read, but tried again later.
	if n := api.adds[`\crm server(*)\failed organization service requests`]; n != 1 {
		t.Errorf("refused counter added %d times in two reads, want 1", n)
	}
	if err := src.refusals()[pathKey(want[4])]; err == nil || !strings.Contains(err.Error(), "0xC0000BB9") {
		t.Errorf("refusal reason = %v, want the PDH status", err)
	}
	for range retryUnknownAfter {
		if _, err := src.Read(ctx, want); err != nil {
			t.Fatal(err)
		}
	}
	if n := api.adds[`\crm server(*)\failed organization service requests`]; n != 2 {
		t.Errorf("refused counter added %d times after %d reads, want a second attempt", n, retryUnknownAfter+2)
	}
	if err := src.Close(); err != nil || !api.closed {
		t.Errorf("Close: %v, query closed %v", err, api.closed)
	}
}

func TestPDHCollectFailure(t *testing.T) {
	api := newFakePDH()
	src := newPDHSource(api)
	api.failNext = &pdhError{"PdhCollectQueryData", 0xC0000BBC}
	if _, err := src.Read(context.Background(), paths(t, `\Memory\Available MBytes`)); err == nil {
		t.Fatal("a failed collection must be an error")
	}
	// PDH_NO_DATA on collect (no counters have data yet) is not an error.
	api.failNext = &pdhError{"PdhCollectQueryData", pdhNoData}
	if _, err := src.Read(context.Background(), paths(t, `\Memory\Available MBytes`)); err != nil {
		t.Fatalf("PDH_NO_DATA: %v", err)
	}
	var pe *pdhError
	if !errors.As(&pdhError{"x", 1}, &pe) || !noDataYet(&pdhError{"x", pdhCstatusInvalidData}) || noDataYet(errors.New("x")) {
		t.Error("noDataYet misclassifies")
	}
}

func TestInstanceNames(t *testing.T) {
	got := instanceNames([]string{"svchost", "w3wp", "svchost", "", "svchost", "w3wp"})
	want := []string{"svchost", "w3wp", "svchost#1", "", "svchost#2", "w3wp#1"}
	if !slices.Equal(got, want) {
		t.Errorf("instanceNames = %q, want %q", got, want)
	}
}
