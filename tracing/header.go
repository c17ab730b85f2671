package tracing

import (
	"strings"
)

// Header is the `#` block at the top of a trace file. The first `#` line is
// the title; the keys are the ones CRM writes (and CrmDeveloperHelper reads).
type Header struct {
	Title          string `json:"title,omitempty"`
	LocalTime      string `json:"local_time,omitempty"`
	Categories     string `json:"categories,omitempty"`
	CallStackOn    string `json:"call_stack_on,omitempty"`
	ComputerName   string `json:"computer_name,omitempty"`
	CRMVersion     string `json:"crm_version,omitempty"`
	DeploymentType string `json:"deployment_type,omitempty"`
	ScaleGroup     string `json:"scale_group,omitempty"`
	ServerRole     string `json:"server_role,omitempty"`
}

// IsZero reports whether no header field was found.
func (h Header) IsZero() bool { return h == Header{} }

// ParseHeader parses the `#` lines of b (other lines are ignored, so the
// whole beginning of a file may be passed). The first `#` line that is not a
// known `Key: value` is the title.
func ParseHeader(b []byte) Header {
	var h Header
	s := string(b)
	for s != "" {
		var line string
		line, s = cutLine(s)
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "#") {
			continue
		}
		h.addLine(t)
	}
	return h
}

// addLine applies one header line (starting with '#').
func (h *Header) addLine(line string) {
	t := strings.TrimSpace(strings.TrimLeft(line, "#"))
	if t == "" {
		return
	}
	if key, val, ok := strings.Cut(t, ":"); ok {
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "LocalTime":
			h.LocalTime = val
			return
		case "Categories":
			h.Categories = val
			return
		case "CallStackOn":
			h.CallStackOn = val
			return
		case "ComputerName":
			h.ComputerName = val
			return
		case "CRMVersion":
			h.CRMVersion = val
			return
		case "DeploymentType":
			h.DeploymentType = val
			return
		case "ScaleGroup":
			h.ScaleGroup = val
			return
		case "ServerRole":
			h.ServerRole = val
			return
		}
	}
	if h.Title == "" {
		h.Title = t
	}
}
