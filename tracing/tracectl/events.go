package tracectl

import (
	"context"
	"fmt"
	"strconv"

	"crmwatch/event"
	"crmwatch/tracing/settings"
)

// The disk guard's event: crmwatch's own, not a CRM event, so it has no
// event id; the built-in pack's crm.trace.disk-guard rule turns it into a
// warning alert.
const (
	EventSource        = "crmwatch"
	EventCategoryGuard = "trace.disk-guard"
	eventCollector     = "tracectl"
)

// emitGuard publishes the guard's event in the background: the publisher
// retries until the centre takes it, and the control loop must not wait.
func (c *Controller) emitGuard(ctx context.Context, s *settings.Setting, reason string, r guardReading, reverted bool) {
	if c.o.Sink == nil {
		return
	}
	role := ""
	if len(c.o.Roles) > 0 {
		role = c.o.Roles[0]
	}
	what := "refused to turn CRM tracing on"
	if reverted {
		what = "turned CRM tracing back off"
	}
	ev := event.Event{
		Time: c.o.Now().UTC(), Host: c.o.Host, Role: role, Source: EventSource, Level: event.LevelWarning,
		Category: EventCategoryGuard,
		Message:  fmt.Sprintf("The trace disk guard %s on %s: %s (setting %s: %s for %s, set by %s)", what, c.o.Host, reason, s.ID, s.Describe(), s.Target, s.SetBy),
		Fields: map[string]string{
			"setting_id": s.ID, "set_by": s.SetBy, "target": s.Target.String(), "reason": s.Reason,
			"trace_dir": c.o.TraceDir, "trace_dir_bytes": strconv.FormatInt(r.DirBytes, 10),
			"quota_bytes": strconv.FormatInt(c.o.Guard.QuotaBytes, 10), "free_bytes": strconv.FormatUint(r.Disk.Free, 10),
		},
		Origin: event.Origin{Collector: eventCollector},
	}
	c.emits.Add(1)
	go func() {
		defer c.emits.Done()
		if err := c.o.Sink.Emit(ctx, event.Batch{Host: c.o.Host, Events: []event.Event{ev}}); err != nil && ctx.Err() == nil {
			c.log.Warn("disk guard event not delivered", "err", err)
		}
	}()
}
