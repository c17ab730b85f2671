package snmptrap

import (
	"fmt"
	"strings"

	"crmwatch/collectors"
	"crmwatch/event"
)

// Mapper turns traps into events through the trap mappings (numeric OIDs,
// or names the MIBs resolve); a trap no mapping names still becomes an
// event, at the unknown level, named by the MIBs or by its OID.
type Mapper struct {
	byOID   map[string]mapping
	mibs    *MIBs
	unknown event.Level
}

type mapping struct {
	collectors.TrapMapping
	level event.Level
}

// NewMapper resolves the mappings; it returns the mappings whose names no
// MIB defines (skipped) so the caller can say so once.
func NewMapper(ms []collectors.TrapMapping, mibs *MIBs, unknown event.Level) (*Mapper, []string) {
	if mibs == nil {
		mibs, _ = LoadMIBs()
	}
	m := &Mapper{byOID: map[string]mapping{}, mibs: mibs, unknown: unknown}
	var unresolved []string
	for _, t := range ms {
		oid, ok := mibs.Resolve(t.OID)
		if !ok {
			unresolved = append(unresolved, t.OID)
			continue
		}
		l, err := event.ParseLevel(t.Level)
		if err != nil || l == event.LevelUnknown {
			l = unknown
		}
		if _, dup := m.byOID[oid]; !dup {
			m.byOID[oid] = mapping{TrapMapping: t, level: l}
		}
	}
	return m, unresolved
}

// Name fills in the names of the trap and its bindings.
func (m *Mapper) Name(t *Trap) {
	if mp, ok := m.byOID[t.TrapOID]; ok {
		t.TrapName = mp.Name
	} else {
		t.TrapName = m.mibs.byOID[t.TrapOID] // exact: a prefix names no trap
	}
	for i := range t.Varbinds {
		t.Varbinds[i].Name = m.mibs.Name(t.Varbinds[i].OID)
	}
}

// Limits of one event's text.
const (
	maxFieldVarbinds = 32
	maxMessageBytes  = 8 << 10
)

// Event maps a named trap (Name was called) to an event of host and role;
// known reports whether a mapping named its OID.
func (m *Mapper) Event(t Trap, host, role string) (ev event.Event, known bool) {
	mp, known := m.byOID[t.TrapOID]
	ev = event.Event{
		Time: t.Time, Host: host, Role: role, Source: event.SourceSNMP,
		Level: m.unknown, Category: t.TrapName,
		Origin: event.Origin{Collector: Type},
	}
	if ev.Category == "" {
		ev.Category = t.TrapOID
	}
	msg := mp.Message
	if known {
		ev.Level = mp.level
	}
	if msg == "" {
		msg = "SNMP trap " + ev.Category
	}
	ev.Fields = map[string]string{"trap_oid": t.TrapOID, "snmp_version": t.Version, "sender": t.Source}
	if t.User != "" {
		ev.Fields["user"], ev.Fields["engine_id"] = t.User, t.EngineID
	}
	var vbs []string
	for i, v := range t.Varbinds {
		key := v.Name
		if key == "" {
			key = v.OID
		}
		if i < maxFieldVarbinds {
			ev.Fields["vb."+key] = v.Value
		}
		vbs = append(vbs, key+"="+v.Value)
	}
	if len(vbs) > 0 {
		msg = fmt.Sprintf("%s (%s)", msg, strings.Join(vbs, ", "))
	}
	if len(msg) > maxMessageBytes {
		msg = msg[:maxMessageBytes]
	}
	ev.Message = msg
	return ev, known
}
