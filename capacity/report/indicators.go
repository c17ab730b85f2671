package report

import (
	"strings"

	"crmwatch/event"
)

// indicator is a key capacity indicator: which counter it reads and the
// threshold its forecast is dated against. Thresholds are the PAL
// thresholds of the CRM domain reference (§4.2) the built-in pack uses.
type indicator struct {
	Key, Name, Unit string
	Object          string
	Instance        string // "" any (a single-instance object), or the instance
	Counter         string
	Threshold       *float64
	Below           bool
	Source          string
}

func thr(v float64) *float64 { return &v }

// indicators are read from the rollups in this order.
var indicators = []indicator{
	{Key: "cpu", Name: "CPU", Unit: "%", Object: "Processor", Instance: "_Total", Counter: "% Processor Time", Threshold: thr(80),
		Source: "PAL: Processor(_Total)\\% Processor Time critical above 80 (crm-domain §4.2)"},
	{Key: "memory", Name: "Committed memory", Unit: "%", Object: "Memory", Counter: "% Committed Bytes In Use", Threshold: thr(80),
		Source: "PAL: Memory\\% Committed Bytes In Use warning above 80 (crm-domain §4.2)"},
	{Key: "memory_available", Name: "Available memory", Unit: "MB", Object: "Memory", Counter: "Available MBytes"},
	{Key: "web_queue", Name: "Requests queued (ASP.NET)", Unit: "requests", Object: "ASP.NET Apps v4.0.30319", Instance: "__Total__", Counter: "Requests In Application Queue", Threshold: thr(2),
		Source: "PAL: ASP.NET Apps\\Requests In Application Queue warning above 2 (crm-domain §4.2)"},
	{Key: "async_backlog", Name: "Async backlog", Unit: "operations", Object: "CRM Async Service", Instance: "mscrmasyncservice", Counter: "Workflow Operations Outstanding"},
	{Key: "sql_batches", Name: "SQL batch requests", Unit: "/s", Object: "SQLServer:SQL Statistics", Counter: "Batch Requests/sec", Threshold: thr(1000),
		Source: "PAL: SQL Statistics\\Batch Requests/sec warning above 1000 (crm-domain §4.2)"},
	{Key: "sql_ple", Name: "SQL page life expectancy", Unit: "s", Object: "SQLServer:Buffer Manager", Counter: "Page life expectancy"},
	{Key: "disk_read", Name: "Disk read time", Unit: "s", Object: "LogicalDisk", Instance: "_Total", Counter: "Avg. Disk sec/Read", Threshold: thr(0.015),
		Source: "PAL: LogicalDisk\\Avg. Disk sec/Read warning above 0.015 (crm-domain §4.2)"},
	{Key: "disk_free", Name: "Free disk space", Unit: "%", Object: "LogicalDisk", Instance: "_Total", Counter: "% Free Space", Threshold: thr(10), Below: true,
		Source: "PAL: LogicalDisk\\% Free Space warning below 10 (crm-domain §4.2)"},
	{Key: "w3wp_private", Name: "IIS worker memory (w3wp)", Unit: "bytes", Object: "Process", Instance: "w3wp", Counter: "Private Bytes"},
}

// indicatorOf finds the indicator a counter path is, if any.
func indicatorOf(path string) (int, bool) {
	cp, err := event.ParseCounterPath(path)
	if err != nil {
		return 0, false
	}
	for i, ind := range indicators {
		if !strings.EqualFold(cp.Object, ind.Object) || !strings.EqualFold(cp.Counter, ind.Counter) {
			continue
		}
		if ind.Instance != "" && !strings.EqualFold(cp.Instance, ind.Instance) &&
			!(ind.Key == "w3wp_private" && strings.HasPrefix(strings.ToLower(cp.Instance), "w3wp")) {
			continue
		}
		return i, true
	}
	return 0, false
}
