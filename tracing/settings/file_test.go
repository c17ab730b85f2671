package settings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", FileName)
	if v, err := ReadFile(path); err != nil || !v.Equal(Values{}) {
		t.Fatalf("missing file: %v %v", v, err)
	}
	want := Values{Enabled: Ptr(true), Categories: Ptr("*:Verbose"), CallStack: Ptr(false), FileSizeMB: Ptr(100), Refresh: Ptr(7)}
	if err := WriteFile(path, want); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	for _, s := range []string{`"TraceEnabled": 1`, `"TraceCategories": "*:Verbose"`, `"TraceCallStack": 0`, `"TraceFileSizeLimit": 100`, `"TraceRefresh": 7`} {
		if !strings.Contains(string(data), s) {
			t.Errorf("file lacks %s:\n%s", s, data)
		}
	}
	got, err := ReadFile(path)
	if err != nil || !got.Equal(want) {
		t.Fatalf("read back %v, %v; want %v", got, err, want)
	}
	// Absent values stay absent.
	if err := WriteFile(path, Values{Refresh: Ptr(8)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := ReadFile(path); got.String() != "TraceRefresh=8" {
		t.Errorf("absent values: %s", got)
	}
	if err := WriteFile(path, Values{FileSizeMB: Ptr(0)}); err == nil {
		t.Error("a TraceFileSizeLimit of 0 was written")
	}
}

func TestParseFileRefusesWithTheValueNamed(t *testing.T) {
	for in, want := range map[string]string{
		`{"TraceEnabled": 2}`:           "TraceEnabled 2: want 0 or 1",
		`{"TraceCategories": ""}`:       "TraceCategories is empty",
		`{"TraceFileSizeLimit": 101}`:   "TraceFileSizeLimit 101: want 1 to 100",
		`{"TraceRefresh": 100}`:         "TraceRefresh 100: want 0 to 99",
		`{"TraceDirectory": "c:\\x"}`:   "unknown field",
		`{"TraceCategories": "*:Loud"}`: `level "Loud"`,
		`{} {}`:                         "text after the JSON object",
		`[1]`:                           "want a JSON object",
	} {
		if _, err := ParseFile([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}

// FuzzParseFile: never panics; what it accepts formats and parses back to
// the same values.
func FuzzParseFile(f *testing.F) {
	for _, s := range []string{`{"TraceEnabled":1,"TraceCategories":"*:Verbose","TraceCallStack":1,"TraceFileSizeLimit":100,"TraceRefresh":3}`,
		``, `{}`, `{"TraceEnabled":0}`, `{"TraceRefresh":-1}`, `nul`, `{"TraceCategories":"Platform.Sql:Error;Platform.*:Warning"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseFile(data)
		if err != nil {
			return
		}
		back, err := ParseFile(FormatFile(v))
		if err != nil || !back.Equal(v) {
			t.Fatalf("%s: formatted %s parses to %v, %v", data, FormatFile(v), back, err)
		}
	})
}
