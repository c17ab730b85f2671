package client

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"crmwatch/api"
	"crmwatch/store"
)

// timeLayout is RFC 3339 with the zone offset (Z for UTC): a time an
// operator copies into a ticket or another tool stays unambiguous.
const timeLayout = time.RFC3339

// PrintAlerts writes the alert table operators read in a terminal: id,
// severity, state, repeats, last seen (in loc), hosts, organizations and the
// summary cut to fit.
func PrintAlerts(w io.Writer, list []api.Alert, loc *time.Location) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "No alerts match.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tSTATE\tREPEATS\tLAST SEEN\tHOSTS\tORGS\tSUMMARY")
	for _, a := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", a.ID, a.Severity, stateText(a), a.RepeatCount,
			formatTime(a.LastSeen, loc), list3(a.Hosts), list3(orgTexts(a)), cut(summaryText(a), 70))
	}
	return tw.Flush()
}

// stateText is the state with what else the NOC must see at a glance.
func stateText(a api.Alert) string {
	s := string(a.State)
	if a.SuppressedBy != "" {
		s += " (suppressed)"
	}
	if a.ParentID != "" {
		s += " (grouped)"
	}
	return s
}

func summaryText(a api.Alert) string {
	if a.Children > 0 {
		return fmt.Sprintf("[+%d grouped] %s", a.Children, a.Summary)
	}
	return a.Summary
}

// orgTexts shows organization names where known, GUIDs otherwise.
func orgTexts(a api.Alert) []string {
	out := make([]string, len(a.Organizations))
	for i, o := range a.Organizations {
		out[i] = o
		if i < len(a.OrganizationNames) && a.OrganizationNames[i] != "" {
			out[i] = a.OrganizationNames[i]
		}
	}
	return out
}

// PrintAlertDetail writes one alert with knowledge, history and events.
func PrintAlertDetail(w io.Writer, d api.AlertDetail, loc *time.Location) error {
	a := d.Alert
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("Alert", a.ID)
	row("Summary", a.Summary)
	row("Rule", a.Rule)
	row("Severity", string(a.Severity))
	row("State", string(a.State))
	row("Repeats", strconv.Itoa(a.RepeatCount))
	row("Assignee", a.Assignee)
	row("Suppressed by", a.SuppressedBy)
	row("Grouped under", a.ParentID)
	row("First seen", formatTime(a.FirstSeen, loc))
	row("Last seen", formatTime(a.LastSeen, loc))
	if d.ResolvedAt != nil {
		row("Resolved", formatTime(*d.ResolvedAt, loc))
	}
	row("Hosts", strings.Join(a.Hosts, ", "))
	orgs := orgTexts(a)
	for i := range orgs {
		if orgs[i] != a.Organizations[i] {
			orgs[i] += " (" + a.Organizations[i] + ")"
		}
	}
	row("Organizations", strings.Join(orgs, ", "))
	row("Cause", d.Knowledge.Cause)
	row("Resolution", d.Knowledge.Resolution)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nHistory:\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, h := range d.History {
		note := ""
		if h.Note != "" {
			note = "\t" + cut(h.Note, 80)
		}
		fmt.Fprintf(tw, "  %s\t%s\tby %s\t%s\t%s%s\n", formatTime(h.At, loc), h.Kind, h.By, h.State, h.Severity, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(d.Children) > 0 {
		fmt.Fprintf(w, "\nGrouped under this alert (%d):\n", len(d.Children))
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, c := range d.Children {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\n", c.ID, c.Severity, c.State, c.RepeatCount, cut(c.Summary, 70))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if err := printDeliveries(w, d.Notifications, loc); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nEvents (%d kept of %d):\n", len(d.Events), a.EventCount)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range d.Events {
		id := ""
		if e.EventID != 0 {
			id = strconv.FormatUint(uint64(e.EventID), 10)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", formatTime(e.Time, loc), e.Host, e.Level, e.Source, id, cut(e.Message, 90))
	}
	return tw.Flush()
}

// PrintOperators writes the operator table.
func PrintOperators(w io.Writer, ops []store.Operator, loc *time.Location) error {
	if len(ops) == 0 {
		_, err := fmt.Fprintln(w, "No operators yet: create the first admin with `crmwatch operators add NAME --role admin`.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tTOKEN ROTATED\tREVOKED")
	for _, op := range ops {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", op.Name, op.Role, formatTime(op.CreatedAt, loc), formatTimePtr(op.RotatedAt, loc),
			formatTimePtr(op.RevokedAt, loc))
	}
	return tw.Flush()
}

// PrintAgents writes the agent table: status, roles, version, last
// heartbeat, and what each agent needs fixed.
func PrintAgents(w io.Writer, list []api.AgentInfo, loc *time.Location) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "No agents have registered yet: start crmwatch agent on a CRM server with --nats pointing at this server.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSTATUS\tROLES\tVERSION\tLAST HEARTBEAT\tWARNINGS")
	for _, a := range list {
		roles := strings.Join(a.Roles, ",")
		if roles == "" {
			roles = "(none)"
		}
		warn := "-"
		if len(a.Warnings) > 0 {
			warn = strings.Join(a.Warnings, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Host, a.Status, roles, a.Version, formatTime(a.LastHeartbeat, loc), warn)
	}
	return tw.Flush()
}

// PrintAudit writes audit entries, latest first.
func PrintAudit(w io.Writer, entries []store.AuditEntry, loc *time.Location) error {
	if len(entries) == 0 {
		_, err := fmt.Fprintln(w, "No audit entries match.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tTARGET\tDETAIL")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", formatTime(e.At, loc), e.Actor, e.Action, e.Target, cut(e.Detail, 80))
	}
	return tw.Flush()
}

func formatTimePtr(t *time.Time, loc *time.Location) string {
	if t == nil {
		return "-"
	}
	return formatTime(*t, loc)
}

func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	if loc == nil {
		loc = time.Local
	}
	return t.In(loc).Format(timeLayout)
}

// list3 joins up to three items and counts the rest, keeping rows short.
func list3(v []string) string {
	if len(v) == 0 {
		return "-"
	}
	if len(v) <= 3 {
		return strings.Join(v, ",")
	}
	return strings.Join(v[:3], ",") + fmt.Sprintf(" +%d", len(v)-3)
}

func cut(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// PrintBulk writes one line per alert a bulk action touched.
func PrintBulk(w io.Writer, verb string, res api.BulkResponse) error {
	if len(res.Results) == 0 {
		_, err := fmt.Fprintln(w, "No alerts match: nothing to "+verb+".")
		return err
	}
	for _, r := range res.Results {
		if r.Status == 200 {
			fmt.Fprintf(w, "%s: %s (now %s)\n", r.ID, verb, r.State)
		} else {
			fmt.Fprintf(w, "%s: refused: %s\n", r.ID, r.Error)
		}
	}
	_, err := fmt.Fprintf(w, "%d done, %d refused.\n", res.OK, res.Failed)
	return err
}

// PrintWindows writes the maintenance windows.
func PrintWindows(w io.Writer, ws []api.WindowInfo, loc *time.Location) error {
	if len(ws) == 0 {
		_, err := fmt.Fprintln(w, "No maintenance windows. Add one with `crmwatch maintenance add`.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tACTIVE\tCOVERS\tWHEN\tBY\tCOMMENT")
	for _, x := range ws {
		var covers []string
		for _, p := range []struct {
			k string
			v []string
		}{{"host", x.Hosts}, {"role", x.Roles}, {"group", x.Groups}} {
			for _, v := range p.v {
				covers = append(covers, p.k+"="+v)
			}
		}
		when := formatTime(x.Start, loc) + " to " + formatTime(x.End, loc)
		if x.Weekly != nil {
			days, _ := x.Weekly.Days.MarshalJSON()
			when = fmt.Sprintf("weekly %s %s for %s (%s)", strings.Trim(strings.ReplaceAll(string(days), `"`, ""), "[]"),
				x.Weekly.At, time.Duration(x.Weekly.Duration), x.Weekly.TZ)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", x.ID, yesNo(x.Active), strings.Join(covers, ","), when, x.CreatedBy, cut(x.Comment, 40))
	}
	return tw.Flush()
}

// PrintSilences writes the silences.
func PrintSilences(w io.Writer, ss []api.SilenceInfo, loc *time.Location) error {
	if len(ss) == 0 {
		_, err := fmt.Fprintln(w, "No silences. Add one with `crmwatch silence add MATCHER… --for 2h --comment TEXT`.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tACTIVE\tMATCHERS\tUNTIL\tBY\tCOMMENT")
	for _, x := range ss {
		ms := make([]string, len(x.Matchers))
		for i, m := range x.Matchers {
			ms[i] = m.String()
		}
		until := formatTime(x.End, loc)
		if x.ExpiredAt != nil {
			until = "expired " + formatTime(*x.ExpiredAt, loc)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", x.ID, yesNo(x.Active), strings.Join(ms, " "), until, x.CreatedBy, cut(x.Comment, 40))
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// printDeliveries lists what receivers were sent about an alert.
func printDeliveries(w io.Writer, ds []store.Delivery, loc *time.Location) error {
	if len(ds) == 0 {
		_, err := fmt.Fprintf(w, "\nNotifications: none\n")
		return err
	}
	fmt.Fprintf(w, "\nNotifications (%d):\n", len(ds))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, d := range ds {
		at := d.ClaimedAt
		if d.DoneAt != nil {
			at = *d.DoneAt
		}
		tries := "1 attempt"
		if d.Attempts != 1 {
			tries = strconv.Itoa(d.Attempts) + " attempts"
		}
		errText := ""
		if d.Error != "" {
			errText = "\t" + cut(d.Error, 100)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s%s\n", formatTime(at, loc), d.Receiver, d.Kind, d.Status, d.Result, tries, errText)
	}
	return tw.Flush()
}

// PrintReceivers writes the notification receivers and their health.
func PrintReceivers(w io.Writer, rs []api.ReceiverInfo, loc *time.Location) error {
	if len(rs) == 0 {
		_, err := fmt.Fprintln(w, "No notification receivers: configure them under notify: in the server's --config file, or start it with --webhook URL.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RECEIVER\tKIND\tHEALTH")
	for _, r := range rs {
		health := "ok"
		if r.Failures > 0 {
			health = fmt.Sprintf("refused %d in a row since %s", r.Failures, formatTimePtr(r.FailingSince, loc))
			if r.Failing {
				health = "FAILING: " + health
			}
			if r.LastError != "" {
				health += ": " + cut(r.LastError, 100)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Kind, health)
	}
	return tw.Flush()
}
