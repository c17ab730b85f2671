package server

import (
	"context"
	"slices"
	"strings"
	"time"

	"crmwatch/alerts"
	"crmwatch/alerts/suppress"
	"crmwatch/transport"
)

// hostInfo answers roles from agent registrations and server groups from
// the overrides files, for maintenance windows and silences.
type hostInfo struct {
	agents *transport.Directory
	groups map[string][]string // lower-case host → groups
}

func (h hostInfo) Roles(host string) []string {
	for _, r := range h.agents.List() {
		if strings.EqualFold(r.Name, host) {
			return r.Roles
		}
	}
	return nil
}

func (h hostInfo) Groups(host string) []string { return h.groups[strings.ToLower(host)] }

// loadSuppressions reads the windows and silences in force; on a store
// error the previous set stays (suppression is never dropped by a hiccup).
func (v *evaluator) loadSuppressions(ctx context.Context) {
	ws, err := v.st.Windows(ctx)
	if err != nil {
		if ctx.Err() == nil {
			v.log.Warn("could not read maintenance windows; keeping the previous ones", "err", err)
		}
		return
	}
	ss, err := v.st.Silences(ctx)
	if err != nil {
		if ctx.Err() == nil {
			v.log.Warn("could not read silences; keeping the previous ones", "err", err)
		}
		return
	}
	now := time.Now()
	set := &suppress.Set{}
	for _, w := range ws {
		if !w.Over(now) {
			set.Windows = append(set.Windows, w)
		}
	}
	for _, s := range ss {
		if s.ExpiredAt == nil && s.End.After(now) {
			set.Silences = append(set.Silences, s)
		}
	}
	v.sup, v.supDirty = set, true
}

func (v *evaluator) hosts() hostInfo { return hostInfo{agents: v.agents, groups: v.groups()} }

// suppressNew marks alerts raised or reopened inside a window or silence.
func (v *evaluator) suppressNew(now time.Time) {
	if v.sup == nil || len(v.sup.Windows)+len(v.sup.Silences) == 0 {
		return
	}
	hi := v.hosts()
	for i := range v.pending {
		c := &v.pending[i]
		if c.Kind == alerts.ChangeRaised || c.Kind == alerts.ChangeReopened {
			c.Alert.SuppressedBy = v.sup.Match(&c.Alert, hi, now)
		}
	}
}

// sweepSuppressions checks every open alert against the windows and
// silences in force: one that entered a window (or a new silence) is
// suppressed, one whose window closed or silence expired is released — and
// then goes to the notifiers like a new alert would.
func (v *evaluator) sweepSuppressions(ctx context.Context, now time.Time) error {
	open, err := v.st.EngineAlerts(ctx, now)
	if err != nil {
		if ctx.Err() == nil {
			v.log.Warn("could not read open alerts to check suppressions; trying again next sweep", "err", err)
		}
		return nil
	}
	hi := v.hosts()
	any := false
	for _, a := range open {
		if !a.State.Open() {
			continue
		}
		by := v.sup.Match(&a, hi, now)
		if by != "" {
			any = true
		}
		if by == a.SuppressedBy {
			continue
		}
		kind, who := alerts.ChangeSuppressed, by
		if by == "" {
			kind, who = alerts.ChangeUnsuppressed, a.SuppressedBy
		}
		a.SuppressedBy = by
		v.pending = append(v.pending, alerts.Change{Kind: kind, Alert: a, At: now, By: who})
	}
	v.supDirty = any || v.sup != nil && len(v.sup.Windows)+len(v.sup.Silences) > 0
	return v.commit(ctx, nil)
}

// groupsByHost inverts the overrides' group → hosts map.
func groupsByHost(groups map[string][]string) map[string][]string {
	out := map[string][]string{}
	for _, g := range slicesSorted(groups) {
		for _, h := range groups[g] {
			k := strings.ToLower(h)
			if !slices.Contains(out[k], g) {
				out[k] = append(out[k], g)
			}
		}
	}
	return out
}

func slicesSorted(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
