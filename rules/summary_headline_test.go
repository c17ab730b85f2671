package rules

import (
	"strings"
	"testing"

	"crmwatch/event"
)

func TestHeadline(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes of 2-byte runes
	for _, tc := range []struct{ in, want string }{
		{"Timeout expired.\n   at System.Data.SqlClient.SqlConnection.OnError()", "Timeout expired."},
		{"\r\n  \nSecond line first\r\nthird", "Second line first"},
		{"one line", "one line"},
		{"", ""},
		{long, long[:MaxHeadline] + "…"},
	} {
		got := headline(tc.in)
		if got != tc.want {
			t.Errorf("headline(%.40q) = %.60q, want %.60q", tc.in, got, tc.want)
		}
		if !strings.HasSuffix(got, "…") && len(got) > MaxHeadline {
			t.Errorf("headline longer than %d bytes: %d", MaxHeadline, len(got))
		}
	}
}

// A CRM exception's message is many lines (the stack trace follows the
// first); the alert's summary stays one line and names the exception.
func TestSummaryIsOneLine(t *testing.T) {
	e, rec := newEngine(t, `
- id: sql
  kind: event
  severity: error
  summary: "SQL error on {{.Host}}: {{.Message}} [{{.Fields.detail}}]"
  event: {sources: [trace], categories: [Platform.Sql], levels: [error], message: '(?s)^[^\n]*\n(?P<detail>.*)$'}
`)
	msg := "Exception when executing query (timeout 30 seconds): System.Data.SqlClient.SqlException\r\n" +
		"   at System.Data.SqlClient.SqlConnection.OnError(SqlException exception)\r\nError Number:-2,State:0,Class:11"
	processEvents(t, e, evt(0, "APP1", "trace", 0, event.LevelError, msg, cat("Platform.Sql")))
	cs := rec.take()
	if len(cs) != 1 {
		t.Fatalf("changes: %+v", cs)
	}
	s := cs[0].Alert.Summary
	if strings.ContainsAny(s, "\r\n") {
		t.Fatalf("summary spans lines: %q", s)
	}
	want := "SQL error on APP1: Exception when executing query (timeout 30 seconds): System.Data.SqlClient.SqlException [ at System.Data.SqlClient.SqlConnection.OnError(SqlException exception) Error Number:-2,State:0,Class:11]"
	if s != want {
		t.Errorf("summary\n got %q\nwant %q", s, want)
	}
	if !strings.Contains(cs[0].Events[0].Message, "Error Number:-2") {
		t.Error("the event must keep the whole message")
	}
}
