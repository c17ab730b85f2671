package event

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseLevel(t *testing.T) {
	cases := []struct {
		in   string
		want Level
		err  bool
	}{
		{"Verbose", LevelVerbose, false},
		{"info", LevelInfo, false},
		{"Information", LevelInfo, false},
		{"WARNING", LevelWarning, false},
		{"Error", LevelError, false},
		{" critical ", LevelCritical, false},
		{"", LevelUnknown, false},
		{"Off", LevelUnknown, true},
		{"fatal", LevelUnknown, true},
	}
	for _, c := range cases {
		got, err := ParseLevel(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v, err=%v", c.in, got, err, c.want, c.err)
		}
	}
	if LevelError <= LevelWarning || LevelCritical <= LevelError || LevelVerbose <= LevelUnknown {
		t.Error("levels must be ordered by severity")
	}
}

func TestEventJSONRoundTrip(t *testing.T) {
	ev := Event{
		Time:         time.Date(2012, 12, 17, 16, 30, 41, 530e6, time.UTC),
		Host:         "CRMAPP01",
		Role:         "AppServer",
		Source:       SourceTrace,
		Level:        LevelError,
		Organization: "contoso",
		Category:     "Platform.Sql",
		Message:      "SQL timeout",
		Fields:       map[string]string{"thread": "13"},
		Origin:       Origin{Collector: "tracefiles", File: "a.log", Fingerprint: "ab12", Offset: 42},
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"level":"error"`) {
		t.Errorf("level must encode as its name: %s", b)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Time.Equal(ev.Time) || back.Level != ev.Level || back.Origin != ev.Origin || back.Fields["thread"] != "13" {
		t.Errorf("round trip changed the event: %+v", back)
	}
	if err := json.Unmarshal([]byte(`{"level":"loud"}`), &back); err == nil {
		t.Error("an unknown level must be rejected, not guessed")
	}
}

func TestParseCounterPath(t *testing.T) {
	cases := []struct {
		in   string
		want CounterPath
	}{
		{`\Processor(_Total)\% Processor Time`, CounterPath{Object: "Processor", Instance: "_Total", Counter: "% Processor Time"}},
		{`\Memory\Available MBytes`, CounterPath{Object: "Memory", Counter: "Available MBytes"}},
		{`\CRM Async Service(mscrmasyncservice$maintenance)\Workflow Operations Failed`,
			CounterPath{Object: "CRM Async Service", Instance: "mscrmasyncservice$maintenance", Counter: "Workflow Operations Failed"}},
		{`\Process(w3wp#1)\Private Bytes`, CounterPath{Object: "Process", Instance: "w3wp#1", Counter: "Private Bytes"}},
		{`\CRM Server(*)\Failed Organization Service Requests`, CounterPath{Object: "CRM Server", Instance: "*", Counter: "Failed Organization Service Requests"}},
		{`\\CRMAPP01\LogicalDisk(C:)\% Free Space`, CounterPath{Machine: "CRMAPP01", Object: "LogicalDisk", Instance: "C:", Counter: "% Free Space"}},
		{`\Process(svc (x86))\Handle Count`, CounterPath{Object: "Process", Instance: "svc (x86)", Counter: "Handle Count"}},
		{`\Network Interface(Intel[R] PRO\1000)\Bytes Total/sec`, CounterPath{Object: "Network Interface", Instance: `Intel[R] PRO\1000`, Counter: "Bytes Total/sec"}},
	}
	for _, c := range cases {
		got, err := ParseCounterPath(c.in)
		if err != nil {
			t.Errorf("ParseCounterPath(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseCounterPath(%q) = %+v, want %+v", c.in, got, c.want)
		}
		if got.String() != c.in {
			t.Errorf("String() = %q, want %q", got.String(), c.in)
		}
	}
	for _, bad := range []string{"", `Memory\Available MBytes`, `\Memory`, `\Memory\`, `\\host`, `\(x)\y`, `\Process)w3wp(\Private Bytes`} {
		if _, err := ParseCounterPath(bad); err == nil {
			t.Errorf("ParseCounterPath(%q): want an error", bad)
		}
	}
}

func FuzzParseCounterPath(f *testing.F) {
	for _, s := range []string{`\Processor(_Total)\% Processor Time`, `\Memory\Available MBytes`,
		`\\HOST\LogicalDisk(C:)\% Free Space`, `\CRM Server(*)\Script Error Reports`, `\(\)\`, `\\\\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cp, err := ParseCounterPath(s)
		if err != nil {
			return
		}
		if cp.Object == "" || cp.Counter == "" {
			t.Fatalf("accepted %q with empty object or counter: %+v", s, cp)
		}
		// A parsed path must parse again to the same value.
		again, err := ParseCounterPath(cp.String())
		if err != nil || again != cp {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, cp, cp.String(), again, err)
		}
	})
}
