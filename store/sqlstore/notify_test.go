package sqlstore

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/store"
)

// sendAll decides every candidate for sending (firing).
func sendAll(prev store.NotifyState, c store.NotifyCandidate) store.NotifyVerdict {
	return store.NotifyVerdict{Send: true, Status: "firing", Next: store.NotifyState{Firing: true, Severity: alerts.SeverityError, SentAt: t0}}
}

// The log claims a change for a receiver once: a second claim (a restart,
// another server) gets nothing; an older version than the one decided is
// superseded; a claim abandoned mid-send is taken over once stale; the
// finished result is listed per alert.
func TestNotificationLogClaimsOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		cs := []store.NotifyCandidate{
			{Seq: 1, Receiver: "noc", AlertID: "a1", Version: 1, Kind: alerts.ChangeRaised},
			{Seq: 1, Receiver: "mail", AlertID: "a1", Version: 1, Kind: alerts.ChangeRaised},
			{Seq: 2, Receiver: "noc", AlertID: "a2", Version: 1, Kind: alerts.ChangeRaised},
		}
		ds, _, err := s.ClaimNotifications(ctx, "srv-a", t0, cs, sendAll)
		if err != nil || len(ds) != 3 || ds[0].Seq != 1 || ds[2].Seq != 2 || ds[0].Result != store.DeliverySending || ds[0].Holder != "srv-a" {
			t.Fatalf("first claim: %+v %v", ds, err)
		}
		again, busy, err := s.ClaimNotifications(ctx, "srv-b", t0, cs, sendAll)
		if err != nil || len(again) != 0 || busy != 3 {
			t.Fatalf("second claim took %+v (busy %d) %v", again, busy, err)
		}
		// A later change decided, then an older one arriving late.
		if ds, _, err := s.ClaimNotifications(ctx, "srv-b", t0, []store.NotifyCandidate{{Seq: 9, Receiver: "noc", AlertID: "a2", Version: 3, Kind: alerts.ChangeResolved}}, sendAll); err != nil || len(ds) != 1 {
			t.Fatalf("newer change: %+v %v", ds, err)
		}
		if ds, _, err := s.ClaimNotifications(ctx, "srv-a", t0, []store.NotifyCandidate{{Seq: 5, Receiver: "noc", AlertID: "a2", Version: 2, Kind: alerts.ChangeRepeated}}, sendAll); err != nil || len(ds) != 0 {
			t.Fatalf("superseded change claimed: %+v %v", ds, err)
		}
		// srv-a died while sending change 1 to noc: stale after the cut-off.
		took, _, err := s.ClaimNotifications(ctx, "srv-b", time.Now().Add(time.Hour), cs[:1], sendAll)
		if err != nil || len(took) != 1 || took[0].Holder != "srv-b" || took[0].Status != "firing" {
			t.Fatalf("stale claim not taken over: %+v %v", took, err)
		}
		done := t0.Add(time.Second)
		took[0].Result, took[0].Attempts, took[0].Error, took[0].DoneAt = store.DeliveryFailed, 3, "bad\x00gateway", &done
		if err := s.FinishNotifications(ctx, took); err != nil {
			t.Fatal(err)
		}
		if ds, _, err := s.ClaimNotifications(ctx, "srv-c", time.Now().Add(time.Hour), cs[:1], sendAll); err != nil || len(ds) != 0 {
			t.Fatalf("finished delivery claimed again: %+v %v", ds, err)
		}
		list, err := s.Notifications(ctx, "a1")
		if err != nil || len(list) != 2 {
			t.Fatalf("list: %+v %v", list, err)
		}
		if l := list[1]; l.Receiver != "noc" || l.Result != store.DeliveryFailed || l.Attempts != 3 || l.Error != "bad\uFFFDgateway" || l.DoneAt == nil || !l.DoneAt.Equal(done) || l.Kind != alerts.ChangeRaised {
			t.Fatalf("noc delivery %+v", l)
		}
		if l := list[0]; l.Receiver != "mail" || l.Result != store.DeliverySending {
			t.Fatalf("mail delivery %+v", l)
		}
	})
}

// decide sees the receiver's state as the previous decision left it.
func TestNotificationLogKeepsState(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		var seen []store.NotifyState
		decide := func(prev store.NotifyState, c store.NotifyCandidate) store.NotifyVerdict {
			seen = append(seen, prev)
			return store.NotifyVerdict{Send: c.Seq == 1, Status: "firing", Next: store.NotifyState{Firing: true, Severity: alerts.SeverityWarning, SentAt: t0.Add(time.Duration(c.Seq) * time.Second)}}
		}
		for seq := int64(1); seq <= 2; seq++ {
			if _, _, err := s.ClaimNotifications(ctx, "a", t0, []store.NotifyCandidate{{Seq: seq, Receiver: "r", AlertID: "x", Version: seq, Kind: alerts.ChangeRepeated}}, decide); err != nil {
				t.Fatal(err)
			}
		}
		if len(seen) != 2 || seen[0].Version != 0 || seen[0].Firing || !seen[1].Firing || seen[1].Version != 1 ||
			seen[1].Severity != alerts.SeverityWarning || !seen[1].SentAt.Equal(t0.Add(time.Second)) {
			t.Fatalf("states seen: %+v", seen)
		}
	})
}

// Two stores on one database (two servers) claiming the same changes at
// once: every (change, receiver) is claimed exactly once.
func TestNotificationLogConcurrentClaims(t *testing.T) {
	for _, e := range engines(t) {
		e.run(t, func(t *testing.T) {
			dsn := e.dsn(t)
			a, b := openStore(t, dsn, Options{}), openStore(t, dsn, Options{})
			var cs []store.NotifyCandidate
			for i := range 200 {
				cs = append(cs, store.NotifyCandidate{Seq: int64(i + 1), Receiver: "noc", AlertID: string(rune('a' + i%7)), Version: int64(i + 1), Kind: alerts.ChangeRaised})
			}
			counts := make(map[int64]int)
			var mu sync.Mutex
			var wg sync.WaitGroup
			for i, st := range []*Store{a, b, a, b} {
				wg.Go(func() {
					for j := 0; j < len(cs); j += 10 {
						k := j
						if i%2 == 1 {
							k = len(cs) - 10 - j // the other way round
						}
						ds, _, err := st.ClaimNotifications(context.Background(), "s", t0, cs[k:k+10], sendAll)
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						for _, d := range ds {
							counts[d.Seq]++
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			for seq, n := range counts {
				if n != 1 {
					t.Errorf("change %d claimed %d times", seq, n)
				}
			}
		})
	}
}

// Pruning drops deliveries finished before the cut-off and claims
// abandoned before it, the receivers' state of alerts resolved before it,
// and healthy receivers' rows; it keeps recent deliveries, sends under
// way, the state of open alerts and a streak of refusals however old.
func TestNotificationLogPrune(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		now := time.Now()
		for _, a := range []struct {
			id, state string
			resolved  any
		}{{"old", "resolved", nanos(t0)}, {"open", "new", nil}, {"recent", "resolved", nanos(now)}} {
			if _, err := s.writer.ExecContext(ctx, `INSERT INTO alerts (id, rule, severity, severity_rank, state, first_seen, last_seen, resolved_at)
				VALUES ($1, 'r', 'error', 3, $2, $3, $3, $4)`, a.id, a.state, nanos(t0), a.resolved); err != nil {
				t.Fatal(err)
			}
		}
		cs := []store.NotifyCandidate{
			{Seq: 1, Receiver: "noc", AlertID: "old", Version: 1, Kind: alerts.ChangeRaised},
			{Seq: 2, Receiver: "noc", AlertID: "open", Version: 1, Kind: alerts.ChangeRaised},
			{Seq: 3, Receiver: "noc", AlertID: "recent", Version: 1, Kind: alerts.ChangeRaised},
			{Seq: 4, Receiver: "gone", AlertID: "open", Version: 1, Kind: alerts.ChangeRaised},
		}
		ds, _, err := s.ClaimNotifications(ctx, "a", t0, cs, sendAll)
		if err != nil || len(ds) != 4 {
			t.Fatalf("claim: %+v %v", ds, err)
		}
		// old and open finished long ago, recent just now; the claim of
		// "gone" was abandoned long ago (its receiver was removed).
		old := t0
		ds[0].Result, ds[0].DoneAt = store.DeliverySent, &old
		ds[1].Result, ds[1].DoneAt = store.DeliverySent, &old
		ds[2].Result, ds[2].DoneAt = store.DeliverySent, &now
		if err := s.FinishNotifications(ctx, ds[:3]); err != nil {
			t.Fatal(err)
		}
		if _, err := s.writer.ExecContext(ctx, `UPDATE notification_log SET claimed_at = $1 WHERE receiver = 'gone'`, nanos(t0)); err != nil {
			t.Fatal(err)
		}
		// A claim under way now is kept.
		if ds, _, err := s.ClaimNotifications(ctx, "a", t0, []store.NotifyCandidate{{Seq: 5, Receiver: "noc", AlertID: "open", Version: 2, Kind: alerts.ChangeRepeated}}, sendAll); err != nil || len(ds) != 1 {
			t.Fatalf("claim: %+v %v", ds, err)
		}
		for _, h := range []struct {
			receiver string
			ok       bool
		}{{"down", false}, {"healthy", false}, {"healthy", true}} {
			if err := s.RecordSend(ctx, h.receiver, h.ok, "503", t0); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.PruneNotifications(ctx, now.Add(-time.Hour))
		if err != nil || n != 3 {
			t.Fatalf("pruned %d deliveries, want 3 (old, open's old one, the abandoned claim): %v", n, err)
		}
		for id, want := range map[string]int{"old": 0, "open": 1, "recent": 1} {
			if list, err := s.Notifications(ctx, id); err != nil || len(list) != want {
				t.Errorf("alert %s: %d deliveries left, want %d (%v)", id, len(list), want, err)
			}
		}
		var states []string
		rows, err := s.reader.QueryContext(ctx, `SELECT alert_id || '/' || receiver FROM notify_state ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var st string
			_ = rows.Scan(&st)
			states = append(states, st)
		}
		rows.Close()
		if got := strings.Join(states, ","); got != "open/gone,open/noc,recent/noc" {
			t.Errorf("receiver states left: %s", got)
		}
		var health []string
		hs, err := s.ReceiverHealth(ctx)
		for _, h := range hs {
			health = append(health, h.Receiver)
		}
		if err != nil || strings.Join(health, ",") != "down" {
			t.Errorf("receivers failing after the prune: %v %v", health, err)
		}
		var healthy int
		_ = s.reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM receiver_health WHERE receiver = 'healthy'`).Scan(&healthy)
		if healthy != 0 {
			t.Errorf("a healthy receiver's old row was kept")
		}
	})
}

// A receiver's refusals in a row are counted from the first; one accepted
// send ends the streak.
func TestReceiverHealth(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		if err := s.RecordSend(ctx, "noc", true, "", t0); err != nil { // nothing on record: no row
			t.Fatal(err)
		}
		for i, e := range []string{"503 Service Unavailable", "connection refused\x00"} {
			if err := s.RecordSend(ctx, "noc", false, e, t0.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		hs, err := s.ReceiverHealth(ctx)
		if err != nil || len(hs) != 1 || hs[0].Receiver != "noc" || hs[0].Failures != 2 || !hs[0].FailingSince.Equal(t0) ||
			hs[0].LastError != "connection refused\uFFFD" || !hs[0].UpdatedAt.Equal(t0.Add(time.Second)) {
			t.Fatalf("health %+v %v", hs, err)
		}
		if err := s.RecordSend(ctx, "noc", true, "", t0.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		if hs, err := s.ReceiverHealth(ctx); err != nil || len(hs) != 0 {
			t.Fatalf("after an accepted send: %+v %v", hs, err)
		}
		if err := s.RecordSend(ctx, "noc", false, "503", t0.Add(3*time.Second)); err != nil {
			t.Fatal(err)
		}
		if hs, _ := s.ReceiverHealth(ctx); len(hs) != 1 || hs[0].Failures != 1 || !hs[0].FailingSince.Equal(t0.Add(3*time.Second)) {
			t.Fatalf("a new streak: %+v", hs)
		}
	})
}
