package tracectl

import (
	"context"
	"fmt"
	"time"

	"crmwatch/tracing/settings"
)

// converge brings the trace values to d. It is idempotent: the same
// desired setting twice changes nothing the second time, and a setting the
// agent already ended (expired, or reverted by the disk guard) is not
// applied again — only a new setting is.
func (c *Controller) converge(ctx context.Context, d settings.Desired) {
	want := d.Setting
	now := c.o.Now()
	switch {
	case c.broken != nil:
		if c.st.Ack.SettingID != settingID(want) || c.st.Ack.State != settings.StateFailed {
			c.st.Setting = want
			c.setAck(ctx, settings.StateFailed, "trace control is disabled on this agent: "+c.broken.Error(), settings.Values{})
		}
	case want == nil:
		if c.st.active() {
			c.revert(ctx, settings.StateRestored, "no setting applies any more")
		} else if c.st.Ack.Host == "" || c.st.Ack.SettingID != "" || c.st.Ack.State != settings.StateRestored {
			c.st.Setting = nil
			c.setAck(ctx, settings.StateRestored, "", c.readNow(ctx))
			c.save()
		}
	case c.st.Setting != nil && c.st.Setting.ID == want.ID && c.st.Ack.SettingID == want.ID && c.st.Ack.State != settings.StateFailed:
		// Already handled; nothing to write.
	case want.Expired(now):
		c.st.Setting = want
		if c.st.active() {
			c.revert(ctx, settings.StateExpired, fmt.Sprintf("expired at %s", want.Expires.Format(time.RFC3339)))
		} else {
			c.setAck(ctx, settings.StateExpired, "expired before this agent could apply it", c.readNow(ctx))
			c.save()
		}
	default:
		c.apply(ctx, want)
	}
}

// apply writes want's values over what the agent found (read now, or kept
// from the first change it made) and remembers what it found first, on
// disk, before writing anything.
func (c *Controller) apply(ctx context.Context, want *settings.Setting) {
	if want.Enabled {
		if reading, reason := c.guardReason(); reason != "" {
			old := c.readNow(ctx)
			c.st.Setting = want
			if _, ok := c.restoreValues(ctx); !ok {
				c.retry = &revertRequest{state: settings.StateGuard, reason: reason + "; tracing stays off"}
				return
			}
			now := c.readNow(ctx)
			c.st.record(settings.AgentEvent{At: c.o.Now().UTC(), State: settings.StateGuard, Setting: want, Reason: reason + "; the setting was refused", Old: old, New: now})
			c.setAck(ctx, settings.StateGuard, reason+"; tracing stays off", now)
			c.save()
			c.emitGuard(ctx, want, reason, reading, false)
			return
		}
	}
	found := c.st.Found
	if found == nil {
		cur, err := c.o.Applier.Read(ctx)
		if err != nil {
			c.st.Setting = want
			c.setAck(ctx, settings.StateFailed, fmt.Sprintf("read the trace values from %s: %v", c.o.Applier, err), settings.Values{})
			return
		}
		found = &cur
	}
	prevFound := c.st.Found
	c.st.Setting, c.st.Found = want, found
	if err := c.st.save(c.o.StateDir); err != nil {
		c.st.Found = prevFound
		c.setAck(ctx, settings.StateFailed, "cannot record what to restore, so nothing was changed: "+err.Error(), c.readNow(ctx))
		return
	}
	written, err := c.o.Applier.Write(ctx, want.Values(*found))
	if err != nil {
		reason := err.Error()
		if _, rerr := c.o.Applier.Write(ctx, *found); rerr == nil {
			c.st.Found = nil
		} else {
			reason += "; restoring what was found failed too: " + rerr.Error()
		}
		c.setAck(ctx, settings.StateFailed, reason, c.readNow(ctx))
		c.save()
		c.m.holding.Set(boolFloat(c.st.active()))
		return
	}
	c.setAck(ctx, settings.StateApplied, "", written)
	c.save()
	c.m.holding.Set(1)
	c.armExpiry()
	c.startConfirm(ctx, want)
	c.log.Info("trace setting applied", "setting", describeSetting(want), "values", written.String(), "restore", found.String())
}

// revert restores what the agent found and reports state: restored
// (cleared), expired or guard. A failed restore is retried every second.
func (c *Controller) revert(ctx context.Context, state settings.State, reason string) {
	c.confirm = nil
	c.expiry.Stop()
	written, ok := c.restoreValues(ctx)
	if !ok {
		c.retry = &revertRequest{state: state, reason: reason}
		return
	}
	c.retry = nil
	id := settingID(c.st.Setting)
	if state == settings.StateRestored {
		c.st.Setting = nil
	} else {
		c.st.record(settings.AgentEvent{At: c.o.Now().UTC(), State: state, Setting: c.st.Setting, Reason: reason, Old: c.st.Ack.Values, New: written})
	}
	c.setAck(ctx, state, reason, written)
	c.save()
	c.log.Info("trace values restored", "state", state, "setting", id, "reason", reason, "values", written.String())
}

// restoreValues writes back what was found; ok is false if that failed
// (the failure is acknowledged and the values stay remembered).
func (c *Controller) restoreValues(ctx context.Context) (settings.Values, bool) {
	if !c.st.active() {
		return c.readNow(ctx), true
	}
	written, err := c.o.Applier.Write(ctx, *c.st.Found)
	if err != nil {
		if c.retry == nil {
			c.setAck(ctx, settings.StateFailed, fmt.Sprintf("could not restore %s: %v; retrying every second", c.st.Found, err), c.readNow(ctx))
		}
		return settings.Values{}, false
	}
	c.st.Found = nil
	c.m.holding.Set(0)
	return written, true
}

func (c *Controller) retryRevert(ctx context.Context) {
	if r := c.retry; r != nil {
		c.revert(ctx, r.state, r.reason)
	}
}

// checkExpiry ends the held setting once its expiry passed.
func (c *Controller) checkExpiry(ctx context.Context) {
	s := c.st.Setting
	if s == nil || !s.Expired(c.o.Now()) || c.st.Ack.SettingID == s.ID && c.st.Ack.State == settings.StateExpired {
		return
	}
	if c.st.active() {
		c.revert(ctx, settings.StateExpired, fmt.Sprintf("expired at %s", s.Expires.Format(time.RFC3339)))
	}
}

// armExpiry sets the timer to the held setting's expiry.
func (c *Controller) armExpiry() {
	c.expiry.Stop()
	if s := c.st.Setting; s != nil && s.Expires != nil && c.st.active() {
		c.expiry.Reset(max(time.Until(*s.Expires), 0))
	}
}

// checkGuard reverts the held setting when the disk guard trips.
func (c *Controller) checkGuard(ctx context.Context) {
	s := c.st.Setting
	if !c.st.active() || s == nil || !s.Enabled {
		return
	}
	reading, reason := c.guardReason()
	if reason == "" {
		return
	}
	c.m.guardTrips.Inc()
	c.revert(ctx, settings.StateGuard, reason)
	c.emitGuard(ctx, s, reason, reading, true)
}

func (c *Controller) guardReason() (guardReading, string) {
	r, reason, err := c.o.Guard.check(c.o.TraceDir, c.o.Disk)
	if err != nil {
		c.log.Warn("disk guard could not measure everything", "err", err)
	}
	return r, reason
}

// setAck records the acknowledgement for the held setting and sends it.
func (c *Controller) setAck(ctx context.Context, state settings.State, reason string, values settings.Values) {
	var restore *settings.Values
	if c.st.Found != nil {
		v := *c.st.Found
		restore = &v
	}
	c.st.Ack = settings.Applied{Host: c.o.Host, SettingID: settingID(c.st.Setting), Setting: c.st.Setting, State: state,
		Reason: reason, Values: values, Restore: restore, At: c.o.Now().UTC(), Events: c.st.Events}
	c.ackDirty = true
	c.m.acks.WithLabelValues(string(state)).Inc()
	c.flushAck(ctx)
}

func (c *Controller) save() {
	if err := c.st.save(c.o.StateDir); err != nil {
		c.log.Error("trace-control state not saved; a restart may not restore the found values", "err", err)
	}
}

// readNow reads the current values for an acknowledgement (empty if the
// applier cannot be read; the reason is logged).
func (c *Controller) readNow(ctx context.Context) settings.Values {
	v, err := c.o.Applier.Read(ctx)
	if err != nil {
		c.log.Warn("cannot read the current trace values", "where", c.o.Applier.String(), "err", err)
	}
	return v
}
