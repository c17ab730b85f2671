package simulate

import (
	"strconv"
	"strings"
	"time"
)

// appendHeader writes the header block (reference §2.1): a title line, then
// exactly the keys the public parsers read. The reference gives the title
// only as "file name / product"; the simulator writes the file name.
func (o *traceOutput) appendHeader(b []byte, title string, t time.Time) []byte {
	s := o.cfg.spec
	callStack := "False"
	if o.live.callStack {
		callStack = "True"
	}
	line := func(parts ...string) {
		b = append(b, "# "...)
		for _, p := range parts {
			b = append(b, p...)
		}
		b = append(b, o.nl...)
	}
	line(title)
	b = append(b, "# LocalTime: "...)
	b = t.AppendFormat(b, "2006-01-02 15:04:05.000")
	b = append(b, o.nl...)
	line("Categories: ", o.live.categories)
	line("CallStackOn: ", callStack)
	line("ComputerName: ", s.Name)
	line("CRMVersion: ", s.CRMVersion)
	line("DeploymentType: ", "OnPremise")
	line("ScaleGroup: ", s.ScaleGroup)
	line("ServerRole: ", roleList(s.Roles))
	return b
}

// appendTime writes "[yyyy-MM-dd HH:mm:ss.fff]"; CRM 4.0 trims trailing
// zeros of the fraction, keeping one digit (sample e: "35.3").
func appendTime(b []byte, t time.Time, legacy bool) []byte {
	b = append(b, '[')
	b = t.AppendFormat(b, "2006-01-02 15:04:05.000")
	if legacy {
		for n := 0; n < 2 && b[len(b)-1] == '0'; n++ {
			b = b[:len(b)-1]
		}
	}
	return append(b, ']')
}

// appendRecord writes one record: head line, call-stack lines when
// CallStackOn, then the `>` message (reference §2.1 and the real lines of
// §2.2).
func (o *traceOutput) appendRecord(b []byte, s *span, rs *recSpec, t time.Time) []byte {
	v := o.cfg.spec.version
	info := s.proc.info
	b = appendTime(b, t, v.legacy)
	if info.noSpace {
		b = append(b, " Process:"...)
	} else {
		b = append(b, " Process: "...)
	}
	b = append(b, info.process...)
	b = append(b, " |Organization:"...)
	b = append(b, s.orgID()...)
	b = append(b, " |Thread: "...)
	b = append(b, s.thread...)
	b = append(b, " |Category: "...)
	b = append(b, rs.cat...)
	b = append(b, " |User: "...)
	b = append(b, s.user...)
	b = append(b, " |Level: "...)
	b = append(b, rs.lvl.String()...)
	if !v.legacy && !info.noReqID {
		b = append(b, " |ReqId:"...)
		if s.reqID != "" {
			b = append(b, ' ')
			b = append(b, s.reqID...)
		}
		if v.activityID {
			b = append(b, " |ActivityId: "...)
			b = append(b, s.activityID...)
		}
	}
	b = append(b, " | "...)
	b = append(b, rs.op...)
	withIL := !v.legacy && !info.noReqID && rs.il >= 0
	if withIL {
		b = appendIL(b, v.ilSep, rs.il)
	}
	msg := rs.msg
	if rs.onHead && msg != "" {
		first, rest, _ := strings.Cut(msg, "\n")
		b = append(b, " >"...)
		b = append(b, first...)
		msg = rest
	}
	b = append(b, o.nl...)
	// A message on the head line (sandbox, sample d) is followed by its own
	// continuation lines, so such records carry no call stack: the two
	// would be indistinguishable.
	if o.live.callStack && !rs.onHead {
		b = o.appendStack(b, rs, withIL)
	}
	if msg == "" {
		return b
	}
	if !rs.onHead {
		b = append(b, '>')
	}
	for {
		line, rest, more := strings.Cut(msg, "\n")
		b = append(b, line...)
		b = append(b, o.nl...)
		if !more {
			return b
		}
		msg = rest
	}
}

func appendIL(b []byte, sep string, il int) []byte {
	b = append(b, sep...)
	b = append(b, "ilOffset = 0x"...)
	start := len(b)
	b = strconv.AppendUint(b, uint64(il), 16)
	for i := start; i < len(b); i++ {
		if b[i] >= 'a' && b[i] <= 'f' {
			b[i] -= 'a' - 'A'
		}
	}
	return b
}

// appendStack writes the call-stack lines: the operation itself with its
// arguments, then its callers (sample a: " at CrmDbConnection.InternalExecuteReader(IDbCommand command, Boolean capturePerfTrace) ilOffset = 0x16").
func (o *traceOutput) appendStack(b []byte, rs *recSpec, withIL bool) []byte {
	frames := stackFor(rs.op, o.r)
	for i, fr := range frames {
		b = append(b, "\tat "...)
		b = append(b, fr...)
		if withIL {
			il := rs.il
			if i > 0 {
				il = o.r.IntN(0x200)
			}
			b = appendIL(b, o.cfg.spec.version.ilSep, il)
		}
		b = append(b, o.nl...)
	}
	return b
}
