package tracectl

import (
	"context"
	"sort"
	"time"

	"crmwatch/tracing/settings"
	"crmwatch/transport"
)

// offlineAfter is how many missed heartbeats make an agent offline.
const offlineAfter = 3

// Online reports whether an agent's registration is fresh at now: not
// stopped, and a heartbeat within three intervals.
func Online(r transport.Registration, now time.Time) bool {
	every := r.HeartbeatEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	return !r.Stopped && now.Sub(r.LastHeartbeat) <= offlineAfter*every
}

// Status lists the stored settings and, per agent, its effective desired
// setting and source, its acknowledgement, the result and what it will
// restore.
func (m *Manager) Status(ctx context.Context) (settings.StatusResponse, error) {
	if err := m.waitReady(ctx); err != nil {
		return settings.StatusResponse{}, err
	}
	now := m.o.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	groups := m.o.Groups()
	resp := settings.StatusResponse{Settings: m.settingsLocked(), Agents: make([]settings.AgentStatus, 0, len(m.agents))}
	sort.Slice(resp.Settings, func(i, j int) bool { return resp.Settings[i].SetAt.Before(resp.Settings[j].SetAt) })
	for host, r := range m.agents {
		mem := member(r, groups)
		d, ok := m.desired[host]
		if !ok {
			d = settings.Desired{Host: host, Setting: settings.Resolve(resp.Settings, mem, now)}
		}
		st := settings.AgentStatus{Host: host, Roles: r.Roles, Groups: mem.Groups, Online: Online(r, now),
			LastHeartbeat: r.LastHeartbeat, Desired: d.Setting}
		sort.Strings(st.Groups)
		if d.Setting != nil {
			st.Source, st.Expires = d.Setting.Target.String(), d.Setting.Expires
		}
		var ap *settings.Applied
		if a, ok := m.applied[host]; ok {
			ap = &a
			st.Applied, st.AppliedAt, st.Restore = ap, &a.At, a.Restore
		}
		st.Result, st.Reason = settings.Result(d, ap, st.Online)
		resp.Agents = append(resp.Agents, st)
	}
	sort.Slice(resp.Agents, func(i, j int) bool { return resp.Agents[i].Host < resp.Agents[j].Host })
	return resp, nil
}
