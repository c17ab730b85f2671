package eventlog

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// xmlEvent is the rendered event schema
// (http://schemas.microsoft.com/win/2004/08/events/event). Tags carry no
// namespace, so documents with and without it decode alike.
type xmlEvent struct {
	System struct {
		Provider struct {
			Name            string `xml:"Name,attr"`
			EventSourceName string `xml:"EventSourceName,attr"`
		}
		EventID struct {
			Qualifiers string `xml:"Qualifiers,attr"`
			Value      string `xml:",chardata"`
		}
		Level       string
		TimeCreated struct {
			SystemTime string `xml:"SystemTime,attr"`
		}
		EventRecordID string
		Channel       string
		Computer      string
	}
	EventData struct {
		Data []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		}
	}
	UserData struct {
		Nodes []xmlNode `xml:",any"`
	}
	RenderingInfo struct {
		Message string
	}
}

// xmlNode is any element of UserData, flattened into data fields.
type xmlNode struct {
	XMLName xml.Name
	Nodes   []xmlNode `xml:",any"`
	Text    string    `xml:",chardata"`
}

// ErrMalformed marks a record that is well-formed XML but not a usable
// event (no provider, an event id or time that does not parse). Decoding
// goes on with the next record.
var ErrMalformed = errors.New("malformed event")

// XMLDecoder reads rendered events from a stream: one <Event> element,
// several in a row (wevtutil qe … /f:xml) or inside any wrapper such as
// Event Viewer's <Events>. UTF-8 and UTF-16 (with byte-order mark) input
// are accepted.
type XMLDecoder struct {
	d *xml.Decoder
}

// NewXMLDecoder returns a decoder reading r.
func NewXMLDecoder(r io.Reader) *XMLDecoder {
	d := xml.NewDecoder(utf8Reader(r))
	// The input is UTF-8 by now whatever the declaration says.
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	d.Strict = true
	return &XMLDecoder{d: d}
}

// Next returns the next record. At the end of the input it returns io.EOF.
// An error wrapping ErrMalformed concerns one record only: call Next again.
// Any other error (the XML is broken) ends the stream.
func (x *XMLDecoder) Next() (Record, error) {
	for {
		tok, err := x.d.Token()
		if err != nil {
			if err == io.EOF {
				return Record{}, io.EOF
			}
			return Record{}, fmt.Errorf("event XML: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Event" {
			continue
		}
		var xe xmlEvent
		if err := x.d.DecodeElement(&xe, &se); err != nil {
			return Record{}, fmt.Errorf("event XML: %w", err)
		}
		return xe.record()
	}
}

// DecodeXML decodes one rendered event (EvtRender's output on the live path).
func DecodeXML(b []byte) (Record, error) {
	r, err := NewXMLDecoder(bytes.NewReader(b)).Next()
	if err == io.EOF {
		return Record{}, fmt.Errorf("event XML: no <Event> element")
	}
	return r, err
}

// utf8Reader transcodes UTF-16 input (recognised by its byte-order mark,
// as Event Viewer and PowerShell redirection write it) to UTF-8.
func utf8Reader(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	bom, _ := br.Peek(3)
	switch {
	case len(bom) >= 2 && (bom[0] == 0xFF && bom[1] == 0xFE || bom[0] == 0xFE && bom[1] == 0xFF):
		return transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewDecoder())
	case len(bom) == 3 && bom[0] == 0xEF && bom[1] == 0xBB && bom[2] == 0xBF:
		_, _ = br.Discard(3) // encoding/xml refuses a UTF-8 byte-order mark
	}
	return br
}

func (xe *xmlEvent) record() (Record, error) {
	s := &xe.System
	r := Record{
		Provider: strings.TrimSpace(s.Provider.Name),
		Computer: strings.TrimSpace(s.Computer),
		Channel:  strings.TrimSpace(s.Channel),
		Message:  strings.TrimSpace(xe.RenderingInfo.Message),
	}
	if r.Provider == "" {
		r.Provider = strings.TrimSpace(s.Provider.EventSourceName)
	}
	var errs []string
	if r.Provider == "" {
		errs = append(errs, "no Provider Name")
	}
	id, err := strconv.ParseUint(strings.TrimSpace(s.EventID.Value), 10, 16)
	if err != nil {
		errs = append(errs, fmt.Sprintf("EventID %q is not a number 0-65535", s.EventID.Value))
	}
	r.EventID = uint16(id)
	if q := strings.TrimSpace(s.EventID.Qualifiers); q != "" {
		v, err := strconv.ParseUint(q, 10, 16)
		if err != nil {
			errs = append(errs, fmt.Sprintf("EventID Qualifiers %q is not a number 0-65535", q))
		}
		r.Qualifiers, r.HasQualifiers = uint16(v), true
	}
	if l := strings.TrimSpace(s.Level); l != "" {
		v, err := strconv.ParseUint(l, 10, 8)
		if err != nil {
			errs = append(errs, fmt.Sprintf("Level %q is not a number", l))
		}
		r.Level = uint8(v)
	}
	if rid := strings.TrimSpace(s.EventRecordID); rid != "" {
		v, err := strconv.ParseUint(rid, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Sprintf("EventRecordID %q is not a number", rid))
		}
		r.RecordID = v
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s.TimeCreated.SystemTime))
	if err != nil {
		errs = append(errs, fmt.Sprintf("TimeCreated SystemTime %q is not an RFC 3339 time", s.TimeCreated.SystemTime))
	}
	r.Time = t.UTC()
	for _, d := range xe.EventData.Data {
		r.Data = append(r.Data, Datum{Name: d.Name, Value: d.Value})
	}
	for _, n := range xe.UserData.Nodes {
		r.Data = flattenNode(r.Data, n, 0)
	}
	if len(errs) > 0 {
		return r, fmt.Errorf("%w: %s", ErrMalformed, strings.Join(errs, "; "))
	}
	return r, nil
}

// maxUserDataDepth bounds the flattening of nested UserData.
const maxUserDataDepth = 16

// flattenNode adds the leaf elements of n as named fields; wrapper
// elements (e.g. LogFileCleared) only group them.
func flattenNode(out []Datum, n xmlNode, depth int) []Datum {
	if depth > maxUserDataDepth {
		return out
	}
	if len(n.Nodes) == 0 {
		return append(out, Datum{Name: n.XMLName.Local, Value: strings.TrimSpace(n.Text)})
	}
	for _, c := range n.Nodes {
		out = flattenNode(out, c, depth+1)
	}
	return out
}
