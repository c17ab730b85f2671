package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
	"crmwatch/store"
)

var t0 = time.Date(2026, 11, 3, 9, 30, 0, 123456789, time.UTC)

func testAlert(id string) alerts.Alert {
	return alerts.Alert{
		ID: id, Rule: "crm.async.stopped", Key: "host=CRMAPP01", Severity: alerts.SeverityError,
		State: alerts.StateNew, RepeatCount: 1, FirstSeen: t0, LastSeen: t0,
		Hosts: []string{"CRMAPP01"}, Organizations: []string{"Contoso"},
		Summary:   "Asynchronous service stopped on CRMAPP01",
		Knowledge: alerts.Knowledge{Cause: "service stopped", Resolution: "start it"},
		Fields:    map[string]string{"service": "MSCRMAsyncService"},
	}
}

func change(kind alerts.ChangeKind, a alerts.Alert, at time.Time, by string, evs ...event.Event) alerts.Change {
	return alerts.Change{Kind: kind, Alert: a, At: at, By: by, Events: evs}
}

// send commits engine changes without an evaluator epoch.
func send(ctx context.Context, s *Store, cs ...alerts.Change) ([]alerts.Committed, error) {
	return s.Commit(ctx, store.Commit{Changes: cs})
}

func ev(n int) event.Event {
	return event.Event{Time: t0.Add(time.Duration(n) * time.Second), Host: "CRMAPP01", Source: "MSCRMAsyncService",
		EventID: 100, Level: event.LevelError, Message: fmt.Sprintf("event %d", n), Origin: event.Origin{Collector: "eventlog"}}
}

func TestMigrationsFromEmptyAndReopen(t *testing.T) {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	forEachEngine(t, func(t *testing.T, e engine, s *Store) {
		ctx := context.Background()
		var n int
		if err := s.reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(ms) {
			t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
		}
		for _, table := range []string{"alerts", "alert_hosts", "alert_history", "alert_events", "operators", "audit_log"} {
			if _, err := s.reader.ExecContext(ctx, `SELECT COUNT(*) FROM `+table); err != nil {
				t.Errorf("table %s missing: %v", table, err)
			}
		}
		applied, err := migrate(ctx, s.writer, dialects[e.name], time.Now, 0)
		if err != nil || applied != 0 {
			t.Fatalf("second migrate: applied %d, err %v; want 0, nil", applied, err)
		}
	})
}

func TestRestartKeepsAlerts(t *testing.T) {
	for _, e := range engines(t) {
		e.run(t, func(t *testing.T) {
			ctx := context.Background()
			dsn := e.dsn(t)
			s, err := Open(ctx, dsn, Options{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
			if err != nil {
				t.Fatal(err)
			}
			a := testAlert("a1")
			if _, err := send(ctx, s, change(alerts.ChangeRaised, a, t0, "crm.async.stopped", ev(1))); err != nil {
				t.Fatal(err)
			}
			want, err := s.Alert(ctx, "a1")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2 := openStore(t, dsn, Options{})
			got, err := s2.Alert(ctx, "a1")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("after restart:\n got %+v\nwant %+v", got, want)
			}
			if !got.Alert.FirstSeen.Equal(t0) || !reflect.DeepEqual(got.Alert.Fields, a.Fields) {
				t.Fatalf("alert not kept exactly: %+v", got.Alert)
			}
			open, err := s2.EngineAlerts(ctx, t0.Add(time.Hour))
			if err != nil || len(open) != 1 || open[0].ID != "a1" {
				t.Fatalf("EngineAlerts after restart = %v, %v", open, err)
			}
		})
	}
}

// step is one engine change or one operator action in a lifecycle case.
type step struct {
	change *alerts.Change
	action *alerts.Action
}

func engineStep(kind alerts.ChangeKind, a alerts.Alert) step {
	c := change(kind, a, t0, "rule")
	return step{change: &c}
}

func operatorStep(kind alerts.ChangeKind, by string) step {
	return step{action: &alerts.Action{Kind: kind, By: by, At: t0}}
}

func TestCommitAndActLifecycle(t *testing.T) {
	a := testAlert("x")
	sev := a
	sev.Severity = alerts.SeverityCritical
	rep := func(n int) alerts.Alert {
		r := a
		r.RepeatCount, r.LastSeen = n, t0.Add(time.Duration(n)*time.Minute)
		return r
	}
	cases := []struct {
		name      string
		steps     []step
		state     alerts.State
		repeats   int
		history   []alerts.ChangeKind
		resolved  bool
		severity  alerts.Severity
		lastState alerts.State // state recorded in the last history row
	}{
		{"raised", []step{engineStep(alerts.ChangeRaised, a)},
			alerts.StateNew, 1, []alerts.ChangeKind{"raised"}, false, alerts.SeverityError, alerts.StateNew},
		{"repeats add no history", []step{engineStep(alerts.ChangeRaised, a),
			engineStep(alerts.ChangeRepeated, rep(2)), engineStep(alerts.ChangeRepeated, rep(3))},
			alerts.StateNew, 3, []alerts.ChangeKind{"raised"}, false, alerts.SeverityError, alerts.StateNew},
		{"repeat keeps acknowledged", []step{engineStep(alerts.ChangeRaised, a),
			operatorStep(alerts.ChangeAcknowledged, "alice"), engineStep(alerts.ChangeRepeated, rep(2))},
			alerts.StateAcknowledged, 2, []alerts.ChangeKind{"raised", "acknowledged"}, false, alerts.SeverityError, alerts.StateAcknowledged},
		{"repeat reopens an operator-resolved alert", []step{engineStep(alerts.ChangeRaised, a),
			operatorStep(alerts.ChangeResolved, "bob"), engineStep(alerts.ChangeRepeated, rep(2))},
			alerts.StateNew, 2, []alerts.ChangeKind{"raised", "resolved", "reopened"}, false, alerts.SeverityError, alerts.StateNew},
		{"severity change recorded", []step{engineStep(alerts.ChangeRaised, a),
			engineStep(alerts.ChangeSeverityChanged, sev)},
			alerts.StateNew, 1, []alerts.ChangeKind{"raised", "severity_changed"}, false, alerts.SeverityCritical, alerts.StateNew},
		{"engine resolves", []step{engineStep(alerts.ChangeRaised, a), engineStep(alerts.ChangeResolved, a)},
			alerts.StateResolved, 1, []alerts.ChangeKind{"raised", "resolved"}, true, alerts.SeverityError, alerts.StateResolved},
	}
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				id := fmt.Sprintf("case-%d", i)
				for _, st := range tc.steps {
					if st.change != nil {
						c := *st.change
						c.Alert.ID = id
						if _, err := send(ctx, s, c); err != nil {
							t.Fatal(err)
						}
						continue
					}
					if _, err := s.Act(ctx, id, *st.action); err != nil {
						t.Fatal(err)
					}
				}
				d, err := s.Alert(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if d.Alert.State != tc.state || d.Alert.RepeatCount != tc.repeats || d.Alert.Severity != tc.severity {
					t.Errorf("state %s repeats %d severity %s; want %s %d %s", d.Alert.State, d.Alert.RepeatCount,
						d.Alert.Severity, tc.state, tc.repeats, tc.severity)
				}
				if (d.Alert.ResolvedAt != nil) != tc.resolved {
					t.Errorf("resolved_at = %v, want set: %v", d.Alert.ResolvedAt, tc.resolved)
				}
				if d.Alert.Version != int64(len(tc.steps)) {
					t.Errorf("version %d after %d changes", d.Alert.Version, len(tc.steps))
				}
				var kinds []alerts.ChangeKind
				for _, h := range d.History {
					kinds = append(kinds, h.Kind)
				}
				if !reflect.DeepEqual(kinds, tc.history) {
					t.Errorf("history kinds %v, want %v", kinds, tc.history)
				}
				if last := d.History[len(d.History)-1]; last.State != tc.lastState || last.By == "" {
					t.Errorf("last history row %+v, want state %s with actor", last, tc.lastState)
				}
			})
		}
	})
}

func TestEventsBoundedFirstAndLatest(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		a := testAlert("ev")
		next := 1
		batch := func(n int) []event.Event {
			var out []event.Event
			for range n {
				out = append(out, ev(next))
				next++
			}
			return out
		}
		changes := []alerts.Change{change(alerts.ChangeRaised, a, t0, "rule", batch(3)...)}
		for range 6 { // batches of 7 cross the first-5 boundary and trim the middle
			changes = append(changes, change(alerts.ChangeRepeated, a, t0, "rule", batch(7)...))
		}
		for _, c := range changes { // one commit per change, like the engine
			c.EventCount = len(c.Events)
			if _, err := send(ctx, s, c); err != nil {
				t.Fatal(err)
			}
		}
		total := next - 1 // 45
		d, err := s.Alert(ctx, "ev")
		if err != nil {
			t.Fatal(err)
		}
		if d.Alert.EventCount != total {
			t.Fatalf("EventCount %d, want %d", d.Alert.EventCount, total)
		}
		var want []string
		for i := 1; i <= total; i++ {
			if i <= 5 || i > total-20 {
				want = append(want, fmt.Sprintf("event %d", i))
			}
		}
		var got []string
		for _, e := range d.Events {
			got = append(got, e.Message)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("kept events\n got %v\nwant %v", got, want)
		}
		if !d.Events[0].Time.Equal(ev(1).Time) || d.Events[0].Level != event.LevelError {
			t.Fatalf("event not kept exactly: %+v", d.Events[0])
		}
	})
}

func TestAlertsFilter(t *testing.T) {
	mk := func(id string, sev alerts.Severity, rule, host, org, parent string, seen int) alerts.Change {
		a := testAlert(id)
		a.Severity, a.Rule, a.Hosts, a.Organizations, a.ParentID = sev, rule, []string{host, "SHARED"}, []string{org}, parent
		a.LastSeen = t0.Add(time.Duration(seen) * time.Minute)
		return change(alerts.ChangeRaised, a, t0, "rule")
	}
	cases := []struct {
		name string
		f    store.AlertFilter
		want []string
	}{
		{"all, latest first", store.AlertFilter{}, []string{"d", "c", "b", "a"}},
		{"open states", store.AlertFilter{States: []alerts.State{alerts.StateNew, alerts.StateAcknowledged}}, []string{"c", "b", "a"}},
		{"resolved", store.AlertFilter{States: []alerts.State{alerts.StateResolved}}, []string{"d"}},
		{"min severity error", store.AlertFilter{Severity: alerts.SeverityError}, []string{"d", "b"}},
		{"rule", store.AlertFilter{Rule: "r2"}, []string{"c", "b"}},
		{"host", store.AlertFilter{Host: "H1"}, []string{"c", "a"}},
		{"shared host", store.AlertFilter{Host: "SHARED"}, []string{"d", "c", "b", "a"}},
		{"unknown host", store.AlertFilter{Host: "NOPE"}, nil},
		{"limit", store.AlertFilter{Limit: 2}, []string{"d", "c"}},
		{"offset", store.AlertFilter{Limit: 2, Offset: 2}, []string{"b", "a"}},
		{"combined", store.AlertFilter{Host: "H1", Rule: "r2", States: []alerts.State{alerts.StateAcknowledged}}, []string{"c"}},
		{"organization", store.AlertFilter{Organization: "Fabrikam"}, []string{"c", "b"}},
		{"top level", store.AlertFilter{TopLevel: true}, []string{"d", "b", "a"}},
		{"children", store.AlertFilter{Parent: "b"}, []string{"c"}},
		{"assignee", store.AlertFilter{Assignee: "carol"}, []string{"a"}},
	}
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		if _, err := send(ctx, s,
			mk("a", alerts.SeverityWarning, "r1", "H1", "Contoso", "", 1),
			mk("b", alerts.SeverityCritical, "r2", "H2", "Fabrikam", "", 2),
			mk("c", alerts.SeverityInfo, "r2", "H1", "Fabrikam", "b", 3),
			mk("d", alerts.SeverityError, "r3", "H3", "Contoso", "", 4),
		); err != nil {
			t.Fatal(err)
		}
		mustAct(t, s, "c", alerts.Action{Kind: alerts.ChangeAcknowledged, By: "alice"})
		mustAct(t, s, "d", alerts.Action{Kind: alerts.ChangeResolved, By: "alice"})
		mustAct(t, s, "a", alerts.Action{Kind: alerts.ChangeAssigned, By: "alice", Assignee: "carol"})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Alerts(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, a := range got.Alerts {
					ids = append(ids, a.ID)
				}
				if !reflect.DeepEqual(ids, tc.want) {
					t.Fatalf("ids %v, want %v", ids, tc.want)
				}
				if tc.f.Limit > 0 && got.Total != 4 {
					t.Fatalf("total %d, want 4", got.Total)
				}
			})
		}
		page, _ := s.Alerts(ctx, store.AlertFilter{TopLevel: true})
		if page.Children["b"] != 1 || len(page.Children) != 1 {
			t.Fatalf("children counts %v", page.Children)
		}
	})
}

func mustAct(t *testing.T, s *Store, id string, x alerts.Action) alerts.Committed {
	t.Helper()
	c, err := s.Act(context.Background(), id, x)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCommitRejectsBadChangesAtomically(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		bad := testAlert("")
		_, err := send(ctx, s, change(alerts.ChangeRaised, testAlert("ok"), t0, "r"), change("exploded", bad, t0, "r"))
		if err == nil {
			t.Fatal("want an error for a change without id and kind")
		}
		if _, err := s.Alert(ctx, "ok"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("valid change of a rejected batch was stored: %v", err)
		}
	})
}

func TestOperatorsAndAudit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		h1, h2 := []byte("hash-one-32-bytes..............."), []byte("hash-two")
		if err := s.AddOperator(ctx, store.Operator{Name: "alice", Role: "admin", CreatedAt: t0}, h1); err != nil {
			t.Fatal(err)
		}
		if err := s.AddOperator(ctx, store.Operator{Name: "alice", Role: "readonly"}, h2); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate name: %v, want ErrExists", err)
		}
		for _, role := range []string{"customer", "tenant", "viewer", "", "Admin"} {
			if err := s.AddOperator(ctx, store.Operator{Name: "x-" + role, Role: role}, []byte("h-"+role)); err == nil {
				t.Errorf("role %q accepted by the schema", role)
			}
		}
		op, err := s.OperatorByTokenHash(ctx, h1)
		if err != nil || op.Name != "alice" || op.Role != "admin" || !op.CreatedAt.Equal(t0) || op.RevokedAt != nil {
			t.Fatalf("by hash: %+v, %v", op, err)
		}
		if _, err := s.OperatorByTokenHash(ctx, h2); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown hash: %v", err)
		}
		if err := s.RevokeOperator(ctx, "alice", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeOperator(ctx, "alice", t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.OperatorByTokenHash(ctx, h1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoked operator still found: %v", err)
		}
		if err := s.RevokeOperator(ctx, "nobody", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoke unknown: %v", err)
		}
		ops, err := s.Operators(ctx)
		if err != nil || len(ops) != 1 || ops[0].RevokedAt == nil || !ops[0].RevokedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("operators = %+v, %v", ops, err)
		}
		for i, a := range []string{"operator.add", "alert.acknowledge", "trace.set"} {
			if err := s.Audit(ctx, store.AuditEntry{At: t0.Add(time.Duration(i) * time.Second), Actor: "alice", Action: a, Target: "t"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Audit(ctx, store.AuditEntry{At: t0.Add(3 * time.Second), Actor: "bob", Action: "x", Target: "t"}); err != nil {
			t.Fatal(err)
		}
		log, err := s.AuditLog(ctx, store.AuditFilter{Limit: 2, Actor: "alice"})
		if err != nil || len(log) != 2 || log[0].Action != "trace.set" || log[1].Action != "alert.acknowledge" || !log[0].At.Equal(t0.Add(2*time.Second)) {
			t.Fatalf("audit log = %+v, %v", log, err)
		}
		if all, _ := s.AuditLog(ctx, store.AuditFilter{}); len(all) != 4 {
			t.Fatalf("full audit log has %d entries, want 4", len(all))
		}
		if since, _ := s.AuditLog(ctx, store.AuditFilter{Since: t0.Add(2 * time.Second)}); len(since) != 2 {
			t.Fatalf("audit log since: %d entries, want 2", len(since))
		}
	})
}

func TestAlertNotFound(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		if _, err := s.Alert(context.Background(), "missing"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
}

// TestConcurrentStartsMigrateOnce opens one empty database from several
// goroutines at once, as servers starting together would: every open
// succeeds and each migration is recorded once.
func TestConcurrentStartsMigrateOnce(t *testing.T) {
	for _, e := range engines(t) {
		e.run(t, func(t *testing.T) {
			dsn := e.dsn(t)
			errs := make(chan error, 4)
			for range 4 {
				go func() {
					s, err := Open(context.Background(), dsn, Options{Logger: slog.New(slog.DiscardHandler)})
					if err == nil {
						err = s.Close()
					}
					errs <- err
				}()
			}
			for range 4 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			s := openStore(t, dsn, Options{})
			ms, err := loadMigrations(migrationFS)
			if err != nil {
				t.Fatal(err)
			}
			var n int
			if err := s.reader.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
				t.Fatalf("schema_migrations rows %d, %v; want %d", n, err, len(ms))
			}
		})
	}
}
