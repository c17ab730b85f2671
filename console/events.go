package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"crmwatch/alerts"
	"crmwatch/api"
)

// Change is one live update on /events (event type "change"): the
// committed change's number and kind and the alert as committed.
type Change struct {
	Seq   int64             `json:"seq"`
	Kind  alerts.ChangeKind `json:"kind"`
	By    string            `json:"by,omitempty"`
	Alert api.Alert         `json:"alert"`
}

// events streams committed alert changes as Server-Sent Events. It checks
// the session again every Recheck and ends the stream (event "signedout")
// once it no longer holds: revoked, rotated, signed out or expired.
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	if c.opts.Changes == nil {
		http.Error(w, "live updates are not available on this server (no alert-changes stream)", http.StatusServiceUnavailable)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	changes := make(chan alerts.Committed, 256)
	failed := make(chan error, 1)
	go func() {
		failed <- c.opts.Changes(ctx, func(ch alerts.Committed) {
			select {
			case changes <- ch:
			default: // a browser this far behind reloads its view on the next change anyway
			}
		})
	}()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n: live\n\n")
	_ = rc.Flush()
	tick := time.NewTicker(c.opts.Recheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.closing:
			return
		case err := <-failed:
			if ctx.Err() == nil {
				c.log.Warn("live updates stopped; the browser reconnects", "err", err)
			}
			return
		case ch := <-changes:
			data, _ := json.Marshal(Change{Seq: ch.Seq, Kind: ch.Kind, By: ch.By, Alert: api.ToAlert(ch.Alert)})
			if _, err := fmt.Fprintf(w, "event: change\nid: %d\ndata: %s\n\n", ch.Seq, data); err != nil {
				return
			}
		case <-tick.C:
			if _, err := c.opts.Auth.AuthenticateRequest(r); err != nil {
				fmt.Fprint(w, "event: signedout\ndata: {}\n\n")
				_ = rc.Flush()
				return
			}
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}
