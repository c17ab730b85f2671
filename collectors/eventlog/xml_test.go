package eventlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/unicode"

	"crmwatch/event"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/xml")

// decodeAll reads every record of an XML stream, failing on any error.
func decodeAll(t testing.TB, r io.Reader) []Record {
	t.Helper()
	d := NewXMLDecoder(r)
	var out []Record
	for {
		rec, err := d.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}

// TestXMLGolden decodes every sample under testdata/xml and compares the
// printed form (what `crmwatch events read --json` writes) with its
// .golden.json; run with -update to rewrite them.
func TestXMLGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/xml/*.xml")
	if len(files) == 0 {
		t.Fatal("no samples")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var views []View
			for _, r := range decodeAll(t, bytes.NewReader(b)) {
				views = append(views, r.View())
			}
			got, _ := json.MarshalIndent(views, "", "  ")
			golden := strings.TrimSuffix(f, ".xml") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
				t.Errorf("decoded %s differs from %s:\n%s", f, golden, got)
			}
		})
	}
}

func TestXMLFields(t *testing.T) {
	f, err := os.Open("testdata/xml/wevtutil-crm.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs := decodeAll(t, f)
	if len(recs) != 4 {
		t.Fatalf("got %d records, want 4", len(recs))
	}
	r := recs[0]
	if r.Provider != "MSCRMSandboxClient" || r.EventID != 20242 || !r.HasQualifiers || r.Qualifiers != 49152 ||
		r.MessageID() != 0xC0004F12 || r.Level != 2 || r.RecordID != 48211 || r.Computer != "CRMAPP01.contoso.local" || r.Channel != "Application" {
		t.Errorf("record 0 = %+v", r)
	}
	if want := time.Date(2026, 11, 29, 8, 15, 2, 123456700, time.UTC); !r.Time.Equal(want) {
		t.Errorf("time %v, want %v (100 ns ticks kept)", r.Time, want)
	}
	if !strings.Contains(r.Text(), "AddressAlreadyInUseException") {
		t.Errorf("message from the unnamed data string: %q", r.Text())
	}
	scm := recs[3]
	if scm.Provider != "Service Control Manager" || scm.EventID != 7031 || len(scm.Data) != 5 || scm.Data[0] != (Datum{"param1", "Microsoft Dynamics CRM Asynchronous Processing Service"}) {
		t.Errorf("named data: %+v", scm)
	}
	if got := scm.Text(); !strings.HasPrefix(got, "param1: Microsoft Dynamics CRM Asynchronous Processing Service; param2: 1") {
		t.Errorf("message from named data: %q", got)
	}
}

// TestXMLUTF16 reads the same events saved as UTF-16LE with a byte-order
// mark (Event Viewer's and PowerShell's encoding) and with a UTF-8 BOM.
func TestXMLUTF16(t *testing.T) {
	b, err := os.ReadFile("testdata/xml/eventviewer-rendered.xml")
	if err != nil {
		t.Fatal(err)
	}
	want := decodeAll(t, bytes.NewReader(b))
	u16, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes(bytes.Replace(b, []byte(`encoding="utf-8"`), []byte(`encoding="utf-16"`), 1))
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{"utf16le": u16, "utf8bom": append([]byte{0xEF, 0xBB, 0xBF}, b...)} {
		got := decodeAll(t, bytes.NewReader(in))
		if len(got) != len(want) || got[0].Text() != want[0].Text() || got[1].Data[1] != want[1].Data[1] {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
}

func TestXMLMalformed(t *testing.T) {
	const ok = `<Event><System><Provider Name='P'/><EventID>1</EventID><Level>2</Level><TimeCreated SystemTime='2026-01-02T03:04:05Z'/></System></Event>`
	cases := map[string]string{
		"no provider": `<Event><System><EventID>1</EventID><TimeCreated SystemTime='2026-01-02T03:04:05Z'/></System></Event>`,
		"id too big":  `<Event><System><Provider Name='P'/><EventID>70000</EventID><TimeCreated SystemTime='2026-01-02T03:04:05Z'/></System></Event>`,
		"bad time":    `<Event><System><Provider Name='P'/><EventID>1</EventID><TimeCreated SystemTime='yesterday'/></System></Event>`,
		"bad level":   `<Event><System><Provider Name='P'/><EventID>1</EventID><Level>high</Level><TimeCreated SystemTime='2026-01-02T03:04:05Z'/></System></Event>`,
	}
	for name, bad := range cases {
		d := NewXMLDecoder(strings.NewReader(bad + ok))
		if _, err := d.Next(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", name, err)
		}
		if r, err := d.Next(); err != nil || r.Provider != "P" {
			t.Errorf("%s: the next record must still decode: %+v, %v", name, r, err)
		}
	}
	// Broken XML ends the stream with an error that is not ErrMalformed.
	d := NewXMLDecoder(strings.NewReader(ok + `<Event><System>`))
	if _, err := d.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Next(); err == nil || errors.Is(err, ErrMalformed) || err == io.EOF {
		t.Errorf("truncated XML: err %v", err)
	}
	if _, err := DecodeXML([]byte("<Events/>")); err == nil {
		t.Error("DecodeXML without an Event must fail")
	}
}

func TestEventMapping(t *testing.T) {
	b, err := os.ReadFile("testdata/xml/eventviewer-rendered.xml")
	if err != nil {
		t.Fatal(err)
	}
	recs := decodeAll(t, bytes.NewReader(b))
	ev := recs[0].Event("agent")
	if ev.Source != "MSCRMPlatform" || ev.Level != event.LevelWarning || ev.Host != "CRMAPP01.contoso.local" ||
		ev.Organization != "Contoso" || ev.Fields[FieldChannel] != "Application" || ev.Fields[FieldRecordID] != "48300" ||
		ev.Fields[FieldQualifiers] != "32768" || !strings.HasPrefix(ev.Message, "Query execution time of 119.1") || ev.Fields["data1"] == "" {
		t.Errorf("event = %+v", ev)
	}
	sec := recs[1].Event("agent")
	if sec.Organization != "" || sec.Fields["SubjectUserName"] != "test" || sec.Level != event.LevelInfo || sec.EventID != 1102 {
		t.Errorf("security event = %+v", sec)
	}
	if _, ok := sec.Fields[FieldQualifiers]; ok {
		t.Error("no qualifiers field when the log carries none")
	}
	noHost := Record{Provider: "P", Time: time.Unix(1, 0)}
	if got := noHost.Event("agent").Host; got != "agent" {
		t.Errorf("host fallback %q", got)
	}
}

func TestEventLevel(t *testing.T) {
	want := map[uint8]event.Level{0: event.LevelInfo, 1: event.LevelCritical, 2: event.LevelError, 3: event.LevelWarning,
		4: event.LevelInfo, 5: event.LevelVerbose, 9: event.LevelUnknown}
	for w, l := range want {
		if got := EventLevel(w); got != l {
			t.Errorf("EventLevel(%d) = %v, want %v", w, got, l)
		}
	}
}

func TestOrganization(t *testing.T) {
	cases := []struct {
		data []Datum
		msg  string
		want string
	}{
		{nil, "RecurringSeriesExpansionOperation failed. MachineName: X, Organization: Contoso, Exception: …", "Contoso"},
		{nil, "OrganizationName=Fabrikam", "Fabrikam"},
		{nil, "Thread: 30; Database: Adventure_Works_MSCRM; Query: select", "Adventure_Works"},
		{nil, "cannot open MSCRM_CONFIG", ""},
		{nil, "the organization service failed", ""},
		{[]Datum{{Name: "OrgName", Value: " Tailspin "}}, "Organization: Other", "Tailspin"},
	}
	for _, c := range cases {
		if got := Organization(c.data, c.msg); got != c.want {
			t.Errorf("Organization(%v, %q) = %q, want %q", c.data, c.msg, got, c.want)
		}
	}
}
