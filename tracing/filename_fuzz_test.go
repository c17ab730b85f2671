package tracing

import (
	"strings"
	"testing"
)

// FuzzParseFileName: the file-name parser is lenient by design, so any name
// must give a result without panicking, and a name the server pattern
// accepts must keep its host and sequence.
func FuzzParseFileName(f *testing.F) {
	for _, s := range []string{
		"CRM02-w3wp(15248#65568210)-CRMWeb-20151208-1.log",
		"CRM02-w3wp(15248#E3C634E2)-Help-20151208-1",
		`C:\Program Files\Microsoft Dynamics CRM\Trace\CRMAPP01-CrmAsyncService(27144#314D9CC4)-AsyncService-20261121-12.log`,
		"OUTLOOK-121217.log",
		"SERVER-w3wp-CRMWeb-Bin-20110101-1.log",
		"-(#)--.log", "", "((((", "a-b(99999999999999999999#x)-c-20250230-1.log",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		fn := ParseFileName(name)
		if fn.Sequence < 0 || fn.PID < 0 {
			t.Fatalf("ParseFileName(%q) = %+v: negative number", name, fn)
		}
		if fn.Host != "" && strings.ContainsAny(fn.Host, `/\`) {
			t.Fatalf("ParseFileName(%q): host %q contains a path separator", name, fn.Host)
		}
	})
}

// FuzzParseHeader: any bytes give a Header whose values never span lines
// (a lone CR is not a line ending in CRM traces, so it may stay in a value).
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte("# CRMAPP01-w3wp(1#2)-CRMWeb-20261121-1.log\r\n# LocalTime: 2026-11-21 23:59:34.306\r\n# Categories: *:Verbose\r\n# CallStackOn: True\r\n# ComputerName: CRMAPP01\r\n# CRMVersion: 8.2.0.749\r\n# DeploymentType: OnPremise\r\n# ScaleGroup: \r\n# ServerRole: AppServer,SdkServer\r\n"))
	f.Add([]byte("#\n#:\n# : x\n#Categories:\n"))
	f.Add([]byte("not a header\n[2010-05-21 10:49:35.3] Process: w3wp |Level: Error\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h := ParseHeader(b)
		for _, v := range []string{h.ComputerName, h.Categories, h.CRMVersion, h.ServerRole, h.LocalTime} {
			if strings.Contains(v, "\n") {
				t.Fatalf("ParseHeader(%q): value %q spans lines", b, v)
			}
		}
	})
}
