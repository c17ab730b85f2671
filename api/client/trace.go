package client

import (
	"context"
	"time"

	"crmwatch/tracing/settings"
)

// TraceSet makes a trace setting (POST /api/v1/trace/settings).
func (c *Client) TraceSet(ctx context.Context, req settings.Request) (settings.ChangeResponse, error) {
	var out settings.ChangeResponse
	err := c.Do(ctx, "POST", settings.SettingsPath, req, &out)
	return out, err
}

// TraceClear removes the setting of a target (POST /api/v1/trace/settings/clear).
func (c *Client) TraceClear(ctx context.Context, req settings.ClearRequest) (settings.ChangeResponse, error) {
	var out settings.ChangeResponse
	err := c.Do(ctx, "POST", settings.ClearPath, req, &out)
	return out, err
}

// TraceStatus lists settings and per-agent state (GET /api/v1/trace/status).
func (c *Client) TraceStatus(ctx context.Context) (settings.StatusResponse, error) {
	var out settings.StatusResponse
	err := c.Do(ctx, "GET", settings.StatusPath, nil, &out)
	return out, err
}

// ResultSuperseded: a later change gave the agent another setting before
// it acknowledged this one.
const ResultSuperseded = "superseded"

// TraceOutcome is where one expected agent stands.
type TraceOutcome struct {
	Host   string `json:"host"`
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
	// Confirmed names the new trace file that showed the setting, once
	// the agent saw one.
	Confirmed string `json:"confirmed,omitempty"`
}

// final reports whether the outcome can no longer change by waiting.
func (o TraceOutcome) final() bool {
	return o.Result != settings.ResultPending && o.Result != settings.ResultOffline
}

// OK reports whether the agent holds what was asked.
func (o TraceOutcome) OK() bool { return settings.Success(o.Result) }

// TraceWaitOptions tune TraceWait.
type TraceWaitOptions struct {
	// Poll is the status polling interval (default 100ms).
	Poll time.Duration
	// Progress, when set, is called after every poll with the outcomes.
	Progress func(outcomes []TraceOutcome)
}

// TraceWait polls the status until every expected agent acknowledged
// (applied, restored, failed, expired) or was superseded, or ctx ends
// (--wait). Offline and pending agents are waited for: they may still
// come. It returns the outcomes in the order of exps; the error is only
// for a status call that failed.
func (c *Client) TraceWait(ctx context.Context, exps []settings.Expectation, o TraceWaitOptions) ([]TraceOutcome, error) {
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
	out := make([]TraceOutcome, len(exps))
	for i, e := range exps {
		out[i] = TraceOutcome{Host: e.Host, Result: settings.ResultPending}
	}
	t := time.NewTicker(o.Poll)
	defer t.Stop()
	for {
		st, err := c.TraceStatus(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return out, nil // --wait passed during the call
			}
			return out, err
		}
		done := judge(out, exps, st)
		if o.Progress != nil {
			o.Progress(out)
		}
		if done {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return out, nil
		case <-t.C:
		}
	}
}

// judge updates out from a status and reports whether all are final.
func judge(out []TraceOutcome, exps []settings.Expectation, st settings.StatusResponse) bool {
	byHost := make(map[string]settings.AgentStatus, len(st.Agents))
	for _, a := range st.Agents {
		byHost[a.Host] = a
	}
	all := true
	for i, e := range exps {
		a, ok := byHost[e.Host]
		o := TraceOutcome{Host: e.Host, Result: settings.ResultPending, Reason: "the server does not list this agent"}
		switch {
		case !ok:
		case settingID(a.Desired) != e.SettingID:
			o.Result, o.Reason = ResultSuperseded, "a later change gave it setting "+orNone(settingID(a.Desired))
		default:
			o.Result, o.Reason = a.Result, a.Reason
			if a.Applied != nil && a.Applied.Confirmed != nil && a.Applied.SettingID == e.SettingID {
				o.Confirmed = a.Applied.Confirmed.File
			}
		}
		out[i] = o
		all = all && o.final()
	}
	return all
}

func settingID(s *settings.Setting) string {
	if s == nil {
		return ""
	}
	return s.ID
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
