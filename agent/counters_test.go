package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"crmwatch/collectors"
	"crmwatch/event"
)

func TestCounterExposition(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	var shipped int
	c := newCounterExposition(collectors.SinkFunc(func(_ context.Context, b event.Batch) error { shipped += len(b.Samples); return nil }))
	c.now = func() time.Time { return now }
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	emit := func(vals map[string]float64) {
		var ss []event.Sample
		for p, v := range vals {
			ss = append(ss, event.Sample{Host: "CRMAPP01", Counter: p, Value: v})
		}
		if err := c.Emit(context.Background(), event.Batch{Host: "CRMAPP01", Samples: ss}); err != nil {
			t.Fatal(err)
		}
	}
	emit(map[string]float64{`\Process(w3wp#1)\Handle Count`: 900, `\Memory\Available MBytes`: 2048, `not a path`: 1})
	want := `
# HELP crmwatch_perfcounter_value Last value of a performance counter the agent shipped (labels: the counter path's parts in lower case, as pack export-prometheus rules select them).
# TYPE crmwatch_perfcounter_value gauge
crmwatch_perfcounter_value{counter="available mbytes",counter_instance="",host="CRMAPP01",object="memory"} 2048
crmwatch_perfcounter_value{counter="handle count",counter_instance="w3wp#1",host="CRMAPP01",object="process"} 900
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "crmwatch_perfcounter_value"); err != nil {
		t.Error(err)
	}
	if shipped != 3 {
		t.Errorf("shipped %d samples, want all 3 handed on (the transport decides about bad ones)", shipped)
	}
	// Memory keeps being read every 15s; the w3wp instance went away.
	for range 10 {
		now = now.Add(15 * time.Second)
		emit(map[string]float64{`\Memory\Available MBytes`: 1024})
	}
	if n := testutil.CollectAndCount(c); n != 1 {
		t.Errorf("%d series after the process ended 150s ago, want only Available MBytes", n)
	}
}
