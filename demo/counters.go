package demo

import (
	"context"
	"os"
	"strings"
	"time"

	"crmwatch/collectors/perfcounters"
	"crmwatch/event"
	"crmwatch/simulate"
)

// farmSource reads one simulated host's counters at the farm's current
// time: the demo's agents collect them as PDH would on the real server.
func farmSource(farm *simulate.Farm, host string) perfcounters.SourceFunc {
	return func() (perfcounters.Source, error) { return simSource{farm: farm, host: host}, nil }
}

type simSource struct {
	farm *simulate.Farm
	host string
}

func (s simSource) Read(_ context.Context, want []event.CounterPath) ([]perfcounters.Reading, error) {
	vs, err := s.farm.Counters(s.host, time.Time{}, want)
	if err != nil {
		return nil, err
	}
	out := make([]perfcounters.Reading, len(vs))
	for i, v := range vs {
		out[i] = perfcounters.Reading{Path: v.Path, Value: v.Value}
	}
	return out, nil
}

func (simSource) Close() error { return nil }

// localCounters are what the demo reads of this machine: the host
// counters of the capacity report, from /proc on Linux.
var localCounters = []any{
	`\Processor(_Total)\% Processor Time`, `\Memory\Available MBytes`, `\Memory\% Committed Bytes In Use`,
	`\LogicalDisk(*)\% Free Space`, `\PhysicalDisk(*)\Avg. Disk sec/Read`, `\Network Interface(*)\Bytes Total/sec`,
	`\System\Processor Queue Length`,
}

// localHost names this machine's agent; the demo runs it where the Linux
// /proc source exists.
func localHost() (string, bool) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		return "", false
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "", false
	}
	return "demo-" + strings.ToLower(h), true
}
