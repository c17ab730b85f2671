package tracing

import (
	"errors"
	"testing"
	"time"

	"crmwatch/event"
)

func TestIsRecordStart(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{"[2012-12-17 16:30:41.530] Process:OUTLOOK |Level: Error", true},
		{"[2010-05-21 10:49:35.3] Process: w3wp", true},
		{"[2010-05-21 10:49:35] Process: w3wp", true},
		{"[2010-05-21  10:49:35.123456789123] x", true},
		{"[2016-02-29 00:00:00.0]", true},
		{"[2015-02-29 00:00:00.0]", false}, // not a leap year
		{"[2010-05-21 10:49:35.] x", false},
		{"[2010-13-21 10:49:35.3] x", false},
		{"[2010-05-21 24:00:00.3] x", false},
		{"[*DateTime*] Process: w3wp |Level: Error", false},
		{"Process: w3wp |Level: Error |ReqId: | x", false},
		{">Message |Level: Error", false},
		{" [2010-05-21 10:49:35.3]", false},
		{"[2010-05-21 10:49:35.3", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsRecordStart([]byte(tt.line)); got != tt.want {
			t.Errorf("IsRecordStart(%q) = %v, want %v", tt.line, got, tt.want)
		}
	}
}

func TestParseRecordFields(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Record
	}{{
		name: "crm40 one fraction digit CRLF no ReqId",
		in:   "[2010-05-21 10:49:35.3] Process: w3wp |Organization:11a5abbd-36aa-de11-8729-00155d00050c |Thread:   25 |Category: Application |User: 00000000-0000-0000-0000-000000000000 |Level: Error | ErrorInformation.LogError\r\n>boom\r\n",
		want: Record{Time: time.Date(2010, 5, 21, 10, 49, 35, 300_000_000, time.UTC), Process: "w3wp",
			Organization: "11a5abbd-36aa-de11-8729-00155d00050c", Thread: "25", Category: "Application",
			User: "00000000-0000-0000-0000-000000000000", Level: "Error", Operation: "ErrorInformation.LogError", Message: "boom"},
	}, {
		name: "head-line message and generic method names",
		in:   "[2011-07-14 08:21:23.115] Process:Sandbox |Level: Error | Foo.<>c.<Run>b__0 >Access Denied: x | y",
		want: Record{Time: time.Date(2011, 7, 14, 8, 21, 23, 115_000_000, time.UTC), Process: "Sandbox",
			Level: "Error", Operation: "Foo.<>c.<Run>b__0", Message: "Access Denied: x | y"},
	}, {
		name: "unknown key kept in Extra, fields in any order",
		in:   "[2020-01-01 00:00:00.000] Level: Info |Process: w3wp |Tenant: t1 |ReqId: r1 |ActivityId: a1 | Op.Run ilOffset = 0x1\n>m1\n>m2",
		want: Record{Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Process: "w3wp", Level: "Info",
			ReqID: "r1", ActivityID: "a1", Operation: "Op.Run", ILOffset: "0x1", Message: "m1\nm2",
			Extra: map[string]string{"Tenant": "t1"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRecord([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(tt.want.Time) || got.Process != tt.want.Process || got.Organization != tt.want.Organization ||
				got.Thread != tt.want.Thread || got.Category != tt.want.Category || got.User != tt.want.User ||
				got.Level != tt.want.Level || got.ReqID != tt.want.ReqID || got.ActivityID != tt.want.ActivityID ||
				got.Operation != tt.want.Operation || got.ILOffset != tt.want.ILOffset || got.Message != tt.want.Message ||
				len(got.Extra) != len(tt.want.Extra) || got.Extra["Tenant"] != tt.want.Extra["Tenant"] {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseRecordNotAHead(t *testing.T) {
	rec, err := ParseRecord([]byte("Process: w3wp |Level: Error | x\n>msg"))
	if !errors.Is(err, ErrNotRecordHead) {
		t.Fatalf("err = %v, want ErrNotRecordHead", err)
	}
	if len(rec.Malformed) != 2 {
		t.Errorf("Malformed = %q, want both lines", rec.Malformed)
	}
}

func TestEvent(t *testing.T) {
	rec, err := ParseRecord([]byte("[2018-10-09 14:55:01.873] Process: w3wp |Organization:org1 |Thread:   19 |Category: Application |User: u1 |Level: Error |ReqId: r1 |ActivityId: a1 | HttpApplication.RecordError  ilOffset = 0x41\n>MSCRM Error Report:\n---\nError Number: 0x80040220\n"))
	if err != nil {
		t.Fatal(err)
	}
	ev := rec.Event("CRM02", "AppServer")
	if ev.Source != event.SourceTrace || ev.Level != event.LevelError || ev.Host != "CRM02" || ev.Role != "AppServer" ||
		ev.Organization != "org1" || ev.Category != "Application" || ev.Process != "w3wp" || ev.RequestID != "r1" {
		t.Errorf("event = %+v", ev)
	}
	for k, v := range map[string]string{"thread": "19", "user": "u1", "activity_id": "a1",
		"operation": "HttpApplication.RecordError", "error_number": "0x80040220"} {
		if ev.Fields[k] != v {
			t.Errorf("Fields[%q] = %q, want %q", k, ev.Fields[k], v)
		}
	}
	for in, want := range map[string]event.Level{"Error": event.LevelError, "Warning": event.LevelWarning,
		"Info": event.LevelInfo, "Verbose": event.LevelVerbose, "Off": event.LevelUnknown} {
		if got := EventLevel(in); got != want {
			t.Errorf("EventLevel(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParseFileName(t *testing.T) {
	day := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		in   string
		want FileName
	}{
		{"CRM02-w3wp(15248#65568210)-CRMWeb-20151208-1.log",
			FileName{Host: "CRM02", Process: "w3wp", PID: 15248, ID: "65568210", Application: "CRMWeb", Date: day(2015, 12, 8), Sequence: 1}},
		{`C:\Program Files\Microsoft Dynamics CRM\Trace\CRM02-w3wp(15248#E3C634E2)-Help-20151208-2.log`,
			FileName{Host: "CRM02", Process: "w3wp", PID: 15248, ID: "E3C634E2", Application: "Help", Date: day(2015, 12, 8), Sequence: 2}},
		{"SERVER-w3wp-CRMWeb-Bin-20110101-1.log",
			FileName{Host: "SERVER", Process: "w3wp", Application: "CRMWeb-Bin", Date: day(2011, 1, 1), Sequence: 1}},
		{"OUTLOOK-20130204.log", FileName{Process: "OUTLOOK", Date: day(2013, 2, 4)}},
		{"OUTLOOK-130402.log", FileName{Process: "OUTLOOK"}},
		{"notes.txt", FileName{}},
	}
	for _, tt := range tests {
		if got := ParseFileName(tt.in); got != tt.want {
			t.Errorf("ParseFileName(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseHeader(t *testing.T) {
	h := ParseHeader([]byte("# Title line\r\n# LocalTime: 2015-12-08 09:14:02\r\n# CRMVersion: 8.2.0.749\n# ServerRole: AppServer\n[2015-12-08 09:14:02.1] Process: w3wp\n"))
	want := Header{Title: "Title line", LocalTime: "2015-12-08 09:14:02", CRMVersion: "8.2.0.749", ServerRole: "AppServer"}
	if h != want {
		t.Errorf("ParseHeader = %+v, want %+v", h, want)
	}
}
