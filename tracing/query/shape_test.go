package query

import "testing"

// Top errors keep what identifies an error (HRESULTs, SQL error numbers,
// server names) and mask what only identifies an occurrence.
func TestShapeKeepsErrorNumbers(t *testing.T) {
	cases := map[string]string{
		"Exception when executing query against Contoso_MSCRM on CRMSQL01 (timeout 30 seconds): System.Data.SqlClient.SqlException (0x80131904): Timeout expired.": "Exception when executing query against Contoso_MSCRM on CRMSQL01 (timeout # seconds): System.Data.SqlClient.SqlException (0x80131904): Timeout expired.",
		"Generic SQL error. ErrorCode: -2147220970 (0x80040216) ---> System.ComponentModel.Win32Exception (0x80004005)":                                            "Generic SQL error. ErrorCode: -2147220970 (0x80040216) ---> System.ComponentModel.Win32Exception (0x80004005)",
		"SQL error 1205: Transaction (Process ID 52) was deadlocked":                                                                                               "SQL error 1205: Transaction (Process ID #) was deadlocked",
		"Msg 1205, Level 13, State 51, Line 1":                                                            "Msg 1205, Level #, State #, Line #",
		"#61042 - An error occurred while processing the outgoing e-mail message":                         "#61042 - An error occurred while processing the outgoing e-mail message",
		"Access Denied. Reference number for administrators or support: #15B34B57: HOSTING\\crm$":         "Access Denied. Reference number for administrators or support: #<id>: HOSTING\\crm$",
		"Workflow (operation 3bf1263f-eec7-46d6-b7a9-2f6c26a14932) postponed; retry 3 of 10 (0x8004A001)": "Workflow (operation <guid>) postponed; retry # of # (0x8004A001)",
		"Worker process 4242 on w3wp: 512 MB private bytes":                                               "Worker process # on w3wp: # MB private bytes",
	}
	for in, want := range cases {
		if got := shape(in, 500); got != want {
			t.Errorf("shape(%q)\n got %q\nwant %q", in, got, want)
		}
	}
	if got := shape("SQL error 1205 and more", 9); got != "SQL error" {
		t.Errorf("cut: %q", got)
	}
}
