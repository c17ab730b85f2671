package tracing

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// FileName is what a trace file's name says about it. Fields the name does
// not carry are left zero.
type FileName struct {
	Host        string    `json:"host,omitempty"`
	Process     string    `json:"process,omitempty"`
	PID         int       `json:"pid,omitempty"`
	ID          string    `json:"id,omitempty"` // the 8-hex id after '#'
	Application string    `json:"application,omitempty"`
	Date        time.Time `json:"date,omitzero"`
	Sequence    int       `json:"sequence,omitempty"`
}

// serverName is `{MACHINE}-{process}({pid}#{8-hex})-{application}-{yyyyMMdd}-{seq}`;
// the pid part is optional because CRM 4.0 naming was never seen (see the
// domain reference §2.3), so the parser stays lenient.
var serverName = regexp.MustCompile(`^([^-]+)-([^-(]+)(?:\((\d+)#([0-9A-Fa-f]+)\))?-(.+)-(\d{8})-(\d+)$`)

// outlookName is the client form `OUTLOOK-<digits>[-<seq>]`.
var outlookName = regexp.MustCompile(`^(?i:(outlook))-(\d+)(?:-(\d+))?$`)

// ParseFileName reads a trace file name (a path is accepted; the directory
// and the .log extension are dropped). It never fails: it fills what it can.
func ParseFileName(name string) FileName {
	base := filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".log"), ".LOG")
	var f FileName
	if m := serverName.FindStringSubmatch(base); m != nil {
		f.Host, f.Process, f.ID, f.Application = m[1], m[2], m[4], m[5]
		f.PID, _ = strconv.Atoi(m[3])
		f.Date, _ = time.Parse("20060102", m[6])
		f.Sequence, _ = strconv.Atoi(m[7])
		return f
	}
	if m := outlookName.FindStringSubmatch(base); m != nil {
		// The Outlook date order is not verified (YYDDMM was reported), so
		// only an unambiguous yyyyMMdd is turned into a date.
		f.Process = "OUTLOOK"
		if len(m[2]) == 8 {
			f.Date, _ = time.Parse("20060102", m[2])
		}
		f.Sequence, _ = strconv.Atoi(m[3])
		return f
	}
	// Unknown layout: take what the dash-separated parts give.
	parts := strings.Split(base, "-")
	if len(parts) >= 2 {
		f.Host = parts[0]
		proc := parts[1]
		if i := strings.IndexByte(proc, '('); i >= 0 {
			proc = proc[:i]
		}
		f.Process = proc
	}
	for i := len(parts) - 1; i >= 0; i-- {
		if len(parts[i]) == 8 {
			if d, err := time.Parse("20060102", parts[i]); err == nil {
				f.Date = d
				if i+1 < len(parts) {
					f.Sequence, _ = strconv.Atoi(parts[i+1])
				}
				break
			}
		}
	}
	return f
}
