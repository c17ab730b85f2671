package client

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"crmwatch/tracing/settings"
)

// PrintTraceChange says what a set or clear did and which agents must
// acknowledge it.
func PrintTraceChange(w io.Writer, verb string, r settings.ChangeResponse, loc *time.Location) error {
	s := r.Setting
	until := "no expiry"
	if s.Expires != nil {
		until = "until " + formatTime(*s.Expires, loc)
	}
	if verb == "cleared" {
		fmt.Fprintf(w, "Trace setting %s for %s cleared (it was %s, %s, set by %s).\n", s.ID, s.Target, s.Describe(), until, s.SetBy)
	} else {
		fmt.Fprintf(w, "Trace setting %s for %s: %s, %s, set by %s.\n", s.ID, s.Target, s.Describe(), until, s.SetBy)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	for _, u := range r.Unchanged {
		fmt.Fprintf(w, "%s: %s\n", u.Host, u.Note)
	}
	if len(r.Agents) == 0 {
		_, err := fmt.Fprintln(w, "No registered agent is affected.")
		return err
	}
	return nil
}

// TraceProgress is the one-line summary shown while waiting:
// "3/5 acknowledged: 3 applied, 1 pending, 1 offline".
func TraceProgress(outs []TraceOutcome) string {
	counts := map[string]int{}
	var order []string
	final := 0
	for _, o := range outs {
		if counts[o.Result] == 0 {
			order = append(order, o.Result)
		}
		counts[o.Result]++
		if o.final() {
			final++
		}
	}
	parts := make([]string, len(order))
	for i, r := range order {
		parts[i] = fmt.Sprintf("%d %s", counts[r], r)
	}
	return fmt.Sprintf("%d/%d acknowledged: %s", final, len(outs), strings.Join(parts, ", "))
}

// PrintTraceOutcomes lists every expected agent's result and ends with the
// agents that did not apply and why.
func PrintTraceOutcomes(w io.Writer, outs []TraceOutcome) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tRESULT\tDETAIL")
	var bad []string
	for _, o := range outs {
		detail := o.Reason
		if o.Confirmed != "" {
			detail = "confirmed by new trace file " + o.Confirmed
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", o.Host, o.Result, detail)
		if !o.OK() {
			bad = append(bad, fmt.Sprintf("%s (%s)", o.Host, o.Result))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(bad) > 0 {
		_, err := fmt.Fprintf(w, "Not applied on %d of %d agents: %s.\n", len(bad), len(outs), strings.Join(bad, ", "))
		return err
	}
	_, err := fmt.Fprintf(w, "Applied on every agent (%d).\n", len(outs))
	return err
}

// PrintTraceStatus writes the settings and the per-agent table.
func PrintTraceStatus(w io.Writer, st settings.StatusResponse, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(st.Settings) == 0 {
		fmt.Fprintln(tw, "No trace settings: every agent keeps (or has restored) the values it found.")
	} else {
		fmt.Fprintln(tw, "SETTING\tTARGET\tTRACING\tEXPIRES\tSET BY\tREASON")
		for _, s := range st.Settings {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Target, s.Describe(), expires(s.Expires, loc), s.SetBy, s.Reason)
		}
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "AGENT\tROLES\tSOURCE\tDESIRED\tRESULT\tAPPLIED AT\tEXPIRES\tRESTORES\tDETAIL")
	for _, a := range st.Agents {
		desired, source := "none", "-"
		if a.Desired != nil {
			desired, source = a.Desired.ID+" "+a.Desired.Describe(), a.Source
		}
		at := "-"
		if a.AppliedAt != nil {
			at = formatTime(*a.AppliedAt, loc)
		}
		restore := "-"
		if a.Restore != nil {
			restore = a.Restore.String()
		}
		detail := a.Reason
		if a.Applied != nil && a.Applied.Confirmed != nil {
			detail = strings.TrimSpace(detail + " confirmed by " + a.Applied.Confirmed.File)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Host, strings.Join(a.Roles, ","), source, desired,
			a.Result, at, expires(a.Expires, loc), restore, detail)
	}
	return tw.Flush()
}

func expires(t *time.Time, loc *time.Location) string {
	if t == nil {
		return "never"
	}
	return formatTime(*t, loc)
}

// ProgressLine rewrites one line on a terminal; elsewhere (logs, pipes) it
// prints a line each time the text changes.
type ProgressLine struct {
	w    io.Writer
	tty  bool
	last string
}

// NewProgressLine writes to w (a terminal when w is one).
func NewProgressLine(w io.Writer) *ProgressLine {
	tty := false
	if f, ok := w.(*os.File); ok {
		fi, err := f.Stat()
		tty = err == nil && fi.Mode()&os.ModeCharDevice != 0
	}
	return &ProgressLine{w: w, tty: tty}
}

// Show replaces the line with s.
func (p *ProgressLine) Show(s string) {
	if s == p.last {
		return
	}
	p.last = s
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", s)
		return
	}
	fmt.Fprintln(p.w, s)
}

// End clears the line on a terminal.
func (p *ProgressLine) End() {
	if p.tty && p.last != "" {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
