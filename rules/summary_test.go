package rules

import (
	"strings"
	"testing"
)

// A reading in a summary is rounded for the NOC; printf still sees the
// number.
func TestSummaryReading(t *testing.T) {
	for v, want := range map[float64]string{94.98997995991984: "94.99", 0.6: "0.6", 820: "820", 22: "22", 123456.7: "123457", 0.001234: "0.001234", -3.14159: "-3.142"} {
		if got := Reading(v).String(); got != want {
			t.Errorf("Reading(%v) = %q, want %q", v, got, want)
		}
	}
	tm, err := compileSummary("r", `{{.Host}}: {{.Value}} ({{printf "%.1f" .Value}}{{if gt .Value 90.0}}, high{{end}})`)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tm.Execute(&b, &SummaryData{Host: "CRMAPP01", Value: 94.98997995991984}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "CRMAPP01: 94.99 (95.0, high)" {
		t.Errorf("summary %q", b.String())
	}
}
