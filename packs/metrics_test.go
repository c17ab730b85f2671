package packs_test

import (
	"testing"

	"crmwatch/event"
	"crmwatch/packs"
	"crmwatch/packs/crm"
)

func TestCounterSeries(t *testing.T) {
	tests := []struct {
		host, path string
		want       string
	}{
		{"CRMAPP01", `\Processor(_Total)\% Processor Time`,
			`crmwatch_perfcounter_value{counter="% processor time",counter_instance="_total",host="CRMAPP01",object="processor"}`},
		{"", `\CRM Server(*)\Failed Organization Service Requests`,
			`crmwatch_perfcounter_value{counter="failed organization service requests",object="crm server"}`},
		{"", `\Memory\Available MBytes`,
			`crmwatch_perfcounter_value{counter="available mbytes",counter_instance="",object="memory"}`},
		{"", `\\CRMSQL01\MSSQL$CRM:Locks(_Total)\Lock Waits/sec`,
			`crmwatch_perfcounter_value{counter="lock waits/sec",counter_instance="_total",host="CRMSQL01",object="mssql$crm:locks"}`},
		{"CRMAPP02", `\Network Interface(Intel[R] PRO\1000)\Bytes Total/sec`,
			`crmwatch_perfcounter_value{counter="bytes total/sec",counter_instance="intel[r] pro\\1000",host="CRMAPP02",object="network interface"}`},
		{"h", `\Process(svc (x86))\Handle "Count"`,
			`crmwatch_perfcounter_value{counter="handle \"count\"",counter_instance="svc (x86)",host="h",object="process"}`},
	}
	for _, tc := range tests {
		cp, err := event.ParseCounterPath(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := packs.Selector(packs.CounterSeries(tc.host, cp)); got != tc.want {
			t.Errorf("CounterSeries(%q, %s):\n got %s\nwant %s", tc.host, tc.path, got, tc.want)
		}
	}
}

func BenchmarkLoadBuiltinPack(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		p, err := crm.Load()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := packs.FarmRules(p, nil); err != nil {
			b.Fatal(err)
		}
	}
}
