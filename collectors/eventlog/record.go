// Package eventlog is the agent's collector for the Windows event log and
// the decoders it shares with `crmwatch events`: rendered event XML (what
// `wevtutil qe /f:xml` and EvtRender produce, file import and the live
// path alike) and exported EVTX files (through www.velocidex.com/golang/evtx,
// wrapped so a corrupt chunk or record is skipped and counted, never
// fatal). Every decoded entry is a Record; Record.Event maps it onto the
// event contract the rules engine reads (source = provider, event id,
// level, organization, message), so the packs' event-log rules fire.
package eventlog

import (
	"strconv"
	"strings"
	"time"

	"crmwatch/event"
)

// Record is one event-log entry as the log stores it.
type Record struct {
	// Provider is the event source (Provider Name), e.g. MSCRMPlatform.
	Provider string
	// EventID is the id Event Viewer shows: the low 16 bits of the
	// message id; Qualifiers are its high 16 bits (classic sources only,
	// e.g. 49152 = 0xC000 for CRM's error ids), HasQualifiers says whether
	// the log carried them.
	EventID       uint16
	Qualifiers    uint16
	HasQualifiers bool
	// Level is the Windows level number: 1 critical, 2 error, 3 warning,
	// 4 information, 5 verbose, 0 "log always" (shown as information).
	Level    uint8
	RecordID uint64
	Time     time.Time
	Computer string
	Channel  string
	// Message is the rendered message when the XML carries one
	// (RenderingInfo), else built from the data fields (see Text).
	Message string
	// Data are the EventData (or flattened UserData) fields in order;
	// classic sources such as CRM's write unnamed strings.
	Data []Datum
}

// Datum is one data field of an event.
type Datum struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value"`
}

// View is a record as `crmwatch events read --json` prints it: one JSON
// object per event, the level by name.
type View struct {
	Time       time.Time `json:"time"`
	Host       string    `json:"host"`
	Provider   string    `json:"provider"`
	EventID    uint16    `json:"event_id"`
	Qualifiers *uint16   `json:"qualifiers,omitempty"`
	Level      string    `json:"level"`
	RecordID   uint64    `json:"record_id"`
	Channel    string    `json:"channel,omitempty"`
	Message    string    `json:"message"`
	Data       []Datum   `json:"data"`
}

// View returns the record's printed form; Message is Text.
func (r *Record) View() View {
	v := View{
		Time: r.Time, Host: r.Computer, Provider: r.Provider, EventID: r.EventID,
		Level: EventLevel(r.Level).String(), RecordID: r.RecordID, Channel: r.Channel,
		Message: r.Text(), Data: r.Data,
	}
	if r.HasQualifiers {
		q := r.Qualifiers
		v.Qualifiers = &q
	}
	if v.Data == nil {
		v.Data = []Datum{}
	}
	return v
}

// MessageID is the 32-bit NT message id (qualifiers << 16 | event id), the
// form CRM's code writes (0xC0004410 for MSCRMPlatform 17424).
func (r *Record) MessageID() uint32 { return uint32(r.Qualifiers)<<16 | uint32(r.EventID) }

// EventLevel maps the Windows level number onto the contract's levels.
// Level 0 ("log always") is what classic sources and audit events carry;
// Event Viewer shows it as information.
func EventLevel(windows uint8) event.Level {
	switch windows {
	case 1:
		return event.LevelCritical
	case 2:
		return event.LevelError
	case 3:
		return event.LevelWarning
	case 0, 4:
		return event.LevelInfo
	case 5:
		return event.LevelVerbose
	}
	return event.LevelUnknown
}

// Text is the message: the rendered one, else the unnamed data strings
// one per line (a classic source such as CRM's, written with
// EventLog.WriteEntry, stores its whole message as one unnamed string),
// else the named fields as "Name: value" joined by "; ".
func (r *Record) Text() string {
	if r.Message != "" {
		return r.Message
	}
	var b strings.Builder
	named := false
	for _, d := range r.Data {
		if d.Name != "" {
			named = true
			continue
		}
		if d.Value == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.Value)
	}
	if b.Len() > 0 || !named {
		return b.String()
	}
	for _, d := range r.Data {
		if d.Name == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d.Name)
		b.WriteString(": ")
		b.WriteString(d.Value)
	}
	return b.String()
}

// Fields keys Record.Event sets besides the data fields.
const (
	FieldChannel    = "channel"
	FieldRecordID   = "record_id"
	FieldQualifiers = "qualifiers"
)

// Event maps the record onto the event contract: source = provider, the
// event id, the level, the computer as host (fallback when empty), the
// message (Text), the organization when the data or message name one
// (Organization), and the data fields by name (unnamed ones as data1,
// data2, … by position) plus channel, record_id and qualifiers.
func (r *Record) Event(fallbackHost string) event.Event {
	ev := event.Event{
		Time:    r.Time,
		Host:    r.Computer,
		Source:  r.Provider,
		EventID: uint32(r.EventID),
		Level:   EventLevel(r.Level),
		Message: r.Text(),
	}
	if ev.Host == "" {
		ev.Host = fallbackHost
	}
	ev.Fields = make(map[string]string, len(r.Data)+3)
	n := 0
	for _, d := range r.Data {
		key := d.Name
		if key == "" {
			n++
			key = "data" + strconv.Itoa(n)
		}
		if _, dup := ev.Fields[key]; !dup {
			ev.Fields[key] = d.Value
		}
	}
	if r.Channel != "" {
		ev.Fields[FieldChannel] = r.Channel
	}
	if r.RecordID != 0 {
		ev.Fields[FieldRecordID] = strconv.FormatUint(r.RecordID, 10)
	}
	if r.HasQualifiers {
		ev.Fields[FieldQualifiers] = strconv.FormatUint(uint64(r.Qualifiers), 10)
	}
	ev.Organization = Organization(r.Data, ev.Message)
	return ev
}
