package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/alerts/suppress"
	"crmwatch/store"
)

// Positions, marks and alert changes are stored together; a commit under
// a stale epoch stores none of them.
func TestCommitProgressAndFencing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		if err := s.Fence(ctx, "server-a", 5); err != nil {
			t.Fatal(err)
		}
		cs, err := s.Commit(ctx, store.Commit{Epoch: 5, Changes: []alerts.Change{change(alerts.ChangeRaised, testAlert("p1"), t0, "rule")},
			Positions: map[string]uint64{"EVENTS": 42, "SAMPLES": 7}, Marks: map[string]string{"APP1|fp1": "[[0,100]]"}})
		if err != nil || len(cs) != 1 || cs[0].Seq == 0 || cs[0].Alert.Version != 1 {
			t.Fatalf("commit: %+v %v", cs, err)
		}
		if err := s.Fence(ctx, "server-b", 6); err != nil {
			t.Fatal(err)
		}
		_, err = s.Commit(ctx, store.Commit{Epoch: 5, Changes: []alerts.Change{change(alerts.ChangeRaised, testAlert("p2"), t0, "rule")},
			Positions: map[string]uint64{"EVENTS": 99}, Marks: map[string]string{"APP1|fp1": "[[0,999]]"}})
		if !errors.Is(err, store.ErrFenced) {
			t.Fatalf("stale epoch: %v, want ErrFenced", err)
		}
		if err := s.Fence(ctx, "server-a", 5); !errors.Is(err, store.ErrFenced) {
			t.Fatalf("an older epoch took the role back: %v", err)
		}
		p, err := s.Progress(ctx)
		if err != nil || p.Epoch != 6 || p.Holder != "server-b" || p.Positions["EVENTS"] != 42 || p.Positions["SAMPLES"] != 7 {
			t.Fatalf("progress %+v %v", p, err)
		}
		if v, ok, err := s.Mark(ctx, "APP1|fp1"); err != nil || !ok || v != "[[0,100]]" {
			t.Fatalf("mark %q %v %v", v, ok, err)
		}
		if _, err := s.Alert(ctx, "p2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the fenced commit's alert was stored: %v", err)
		}
		if n, err := s.PruneMarks(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("prune marks: %d %v", n, err)
		}
	})
}

// Racing operators on one alert: every transition is serialised, losers
// get a conflict naming the current state, and history and audit hold one
// entry per real change.
func TestConcurrentActionsSerialised(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		for round := range 10 {
			id := fmt.Sprintf("race-%d", round)
			if _, err := send(ctx, s, change(alerts.ChangeRaised, testAlert(id), t0, "rule")); err != nil {
				t.Fatal(err)
			}
			kinds := []alerts.ChangeKind{alerts.ChangeAcknowledged, alerts.ChangeResolved, alerts.ChangeAcknowledged, alerts.ChangeResolved}
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok, conflicts := 0, 0
			for i, k := range kinds {
				wg.Go(func() {
					_, err := s.Act(ctx, id, alerts.Action{Kind: k, By: fmt.Sprintf("op%d", i)})
					var ce *alerts.ConflictError
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						ok++
					case errors.As(err, &ce) && ce.Current.ID == id:
						conflicts++
					default:
						t.Errorf("unexpected error: %v", err)
					}
				})
			}
			wg.Wait()
			d, err := s.Alert(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var hist []alerts.ChangeKind
			for _, h := range d.History[1:] {
				hist = append(hist, h.Kind)
			}
			valid := slices.Equal(hist, []alerts.ChangeKind{alerts.ChangeResolved}) ||
				slices.Equal(hist, []alerts.ChangeKind{alerts.ChangeAcknowledged, alerts.ChangeResolved})
			if !valid || ok != len(hist) || ok+conflicts != len(kinds) || d.Alert.State != alerts.StateResolved {
				t.Fatalf("round %d: history %v, %d ok, %d conflicts, state %s", round, hist, ok, conflicts, d.Alert.State)
			}
			audit, _ := s.AuditLog(ctx, store.AuditFilter{})
			n := 0
			for _, e := range audit {
				if e.Target == id {
					n++
				}
			}
			if n != ok {
				t.Fatalf("round %d: %d audit entries for %d real changes", round, n, ok)
			}
		}
	})
}

// The outbox numbers changes in commit order and holds them until marked
// published.
func TestOutbox(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		a := testAlert("o1")
		c1, err := send(ctx, s, change(alerts.ChangeRaised, a, t0, "rule", ev(1)))
		if err != nil {
			t.Fatal(err)
		}
		c2 := mustAct(t, s, "o1", alerts.Action{Kind: alerts.ChangeCommented, By: "alice", Note: "on it"})
		if c2.Seq <= c1[0].Seq || c2.Note != "on it" || c2.Kind != alerts.ChangeCommented {
			t.Fatalf("seqs %d then %d: %+v", c1[0].Seq, c2.Seq, c2)
		}
		pending, err := s.Unpublished(ctx, time.Now().Add(time.Minute), 10)
		if err != nil || len(pending) != 2 || pending[0].Seq != c1[0].Seq || pending[0].Alert.ID != "o1" || len(pending[0].Events) != 1 {
			t.Fatalf("unpublished %+v %v", pending, err)
		}
		if err := s.MarkPublished(ctx, []int64{c1[0].Seq}); err != nil {
			t.Fatal(err)
		}
		if pending, _ = s.Unpublished(ctx, time.Now().Add(time.Minute), 10); len(pending) != 1 || pending[0].Seq != c2.Seq {
			t.Fatalf("after publishing one: %+v", pending)
		}
		if n, err := s.PruneChanges(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
			t.Fatalf("prune: %d %v", n, err)
		}
	})
}

// A change carrying the engine's first-and-latest sample of many events is
// numbered among all of them.
func TestEngineEventSampleNumbering(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		l := alerts.NewEventList(alerts.ChangeEvents)
		for i := 1; i <= 100; i++ {
			e := ev(i)
			l.Add(&e)
		}
		c := change(alerts.ChangeRaised, testAlert("n1"), t0, "rule", l.List()...)
		c.EventCount = l.Count()
		if _, err := send(ctx, s, c); err != nil {
			t.Fatal(err)
		}
		d, _ := s.Alert(ctx, "n1")
		var got []string
		for _, e := range d.Events {
			got = append(got, e.Message)
		}
		want := []string{"event 1", "event 97", "event 98", "event 99", "event 100"}
		if d.Alert.EventCount != 100 || !slices.Equal(got, want) {
			t.Fatalf("count %d, events %v, want %v", d.Alert.EventCount, got, want)
		}
	})
}

func TestSuppressionsStore(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		w := suppress.Window{ID: "w1", Hosts: []string{"CRMAPP01"}, Weekly: &suppress.Weekly{Days: suppress.Days{time.Saturday},
			At: "22:00", Duration: suppress.Duration(4 * time.Hour), TZ: "Europe/Berlin"}, CreatedBy: "alice", CreatedAt: t0}
		if err := s.AddWindow(ctx, w); err != nil {
			t.Fatal(err)
		}
		ws, err := s.Windows(ctx)
		if err != nil || len(ws) != 1 || ws[0].Weekly.TZ != "Europe/Berlin" || ws[0].Weekly.Duration != w.Weekly.Duration {
			t.Fatalf("windows %+v %v", ws, err)
		}
		if err := s.RemoveWindow(ctx, "w1"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveWindow(ctx, "w1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("remove twice: %v", err)
		}
		m, _ := suppress.ParseMatcher("host=CRMAPP01")
		x := suppress.Silence{ID: "s1", Matchers: []suppress.Matcher{m}, Start: t0, End: t0.Add(time.Hour), Comment: "patch", CreatedBy: "alice", CreatedAt: t0}
		if err := s.AddSilence(ctx, x); err != nil {
			t.Fatal(err)
		}
		if err := s.ExpireSilence(ctx, "s1", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		ss, err := s.Silences(ctx)
		if err != nil || len(ss) != 1 || ss[0].ExpiredAt == nil || !ss[0].ExpiredAt.Equal(t0.Add(time.Minute)) || ss[0].Matchers[0].String() != "host=CRMAPP01" {
			t.Fatalf("silences %+v %v", ss, err)
		}
		if err := s.ExpireSilence(ctx, "nope", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expire unknown: %v", err)
		}
	})
}

// TestMigrateReleaseStore opens stores written by release 0001 — the
// SQLite file it wrote, and the same rows replayed into PostgreSQL under
// the 0001 schema — and checks every alert, its history, events,
// operators and audit entries survive the upgrade and work with the new
// lifecycle.
func TestMigrateReleaseStore(t *testing.T) {
	ctx := context.Background()
	for _, e := range engines(t) {
		e.run(t, func(t *testing.T) {
			dsn := e.dsn(t)
			if e.name == EngineSQLite {
				copyFile(t, filepath.Join("testdata", "release-0001.db"), dsn)
			} else {
				replayRelease(t, dsn)
			}
			s := openStore(t, dsn, Options{})
			d, err := s.Alert(ctx, "a1000000000000001")
			if err != nil {
				t.Fatal(err)
			}
			if d.Alert.State != alerts.StateAcknowledged || d.Alert.RepeatCount != 30 || d.Alert.EventCount != 30 ||
				len(d.Events) != 25 || len(d.History) != 2 || d.History[1].By != "alice" || d.Alert.Version != 1 {
				t.Fatalf("acknowledged alert after upgrade: %+v, %d events, history %+v", d.Alert, len(d.Events), d.History)
			}
			page, err := s.Alerts(ctx, store.AlertFilter{Organization: "Fabrikam"})
			if err != nil || len(page.Alerts) != 1 || page.Alerts[0].ID != "a3000000000000003" {
				t.Fatalf("organization index after upgrade: %+v %v", page, err)
			}
			if r, _ := s.Alert(ctx, "a2000000000000002"); r.Alert.State != alerts.StateResolved || r.Alert.ResolvedAt == nil {
				t.Fatalf("resolved alert: %+v", r.Alert)
			}
			ops, _ := s.Operators(ctx)
			audit, _ := s.AuditLog(ctx, store.AuditFilter{})
			if len(ops) != 2 || ops[1].RevokedAt == nil || len(audit) != 1 {
				t.Fatalf("operators %+v audit %+v", ops, audit)
			}
			// The new lifecycle works on old rows.
			c := mustAct(t, s, "a1000000000000001", alerts.Action{Kind: alerts.ChangeResolved, By: "alice", Note: "fixed"})
			if c.Alert.Version != 2 || c.Alert.State != alerts.StateResolved {
				t.Fatalf("resolve after upgrade: %+v", c.Alert)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// replayRelease builds the 0001 schema at dsn and copies every row of the
// release fixture into it, as a PostgreSQL store of that release would be.
func replayRelease(t *testing.T, dsn string) {
	t.Helper()
	ctx := context.Background()
	src := openReleaseFixture(t)
	dst, err := Open(ctx, dsn, Options{Logger: quietLogger(), uptoVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	for _, table := range []string{"alerts", "alert_hosts", "alert_history", "alert_events", "operators", "audit_log"} {
		rows, err := src.QueryContext(ctx, `SELECT * FROM `+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			q := `INSERT INTO ` + table + ` (` + joinColumns(cols) + `) VALUES (` + joinPlaceholders(1, len(cols)) + `)`
			if _, err := dst.writer.ExecContext(ctx, q, vals...); err != nil {
				t.Fatalf("replay %s: %v", table, err)
			}
		}
		rows.Close()
	}
	// Rows were copied with their ids; move the identity sequences past them
	// as a store that wrote them itself would have.
	for _, table := range []string{"alert_history", "audit_log"} {
		if _, err := dst.writer.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', 'id'), (SELECT MAX(id) FROM `+table+`))`); err != nil {
			t.Fatal(err)
		}
	}
}

func openReleaseFixture(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join("testdata", "release-0001.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func joinColumns(cols []string) string {
	out := ""
	for i, c := range cols {
		if i > 0 {
			out += ", "
		}
		out += c
	}
	return out
}

// Bytes PostgreSQL refuses in text (NUL, invalid UTF-8) from an agent's
// host name or message never make a commit fail: one bad record must not
// stop ingest.
func TestCommitTakesAnyBytes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		a := testAlert("bytes")
		a.Hosts = []string{"APP\x00X", "bad\xffutf8"}
		a.Organizations = []string{"Con\x00toso"}
		a.Key = "host=APP\x00X"
		a.Summary = "summary \xff\x00"
		c := change(alerts.ChangeRaised, a, t0, "rule", ev(1))
		c.Events[0].Host, c.Events[0].Message = "APP\x00X", "msg\xff"
		if _, err := send(context.Background(), s, c); err != nil {
			t.Fatal(err)
		}
		page, err := s.Alerts(context.Background(), store.AlertFilter{Host: "APP\uFFFDX"})
		if err != nil || len(page.Alerts) != 1 {
			t.Fatalf("host index: %+v %v", page, err)
		}
	})
}
