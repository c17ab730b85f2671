package sqlstore

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/store"
)

// BenchmarkCommitRepeat measures the hot path: one repeat with one event
// per commit, as the engine emits while a fault keeps firing.
func BenchmarkCommitRepeat(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "b.db"), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	a := testAlert("bench")
	if _, err := send(ctx, s, change(alerts.ChangeRaised, a, t0, "rule")); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a.RepeatCount, a.LastSeen = i+2, t0.Add(time.Duration(i)*time.Second)
		c := change(alerts.ChangeRepeated, a, a.LastSeen, "rule", ev(i))
		c.EventCount = 1
		if _, err := send(ctx, s, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAlertsList measures the NOC's list query over 500 alerts.
func BenchmarkAlertsList(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "b.db"), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var cs []alerts.Change
	for i := range 500 {
		a := testAlert(fmt.Sprintf("a%03d", i))
		a.LastSeen = t0.Add(time.Duration(i) * time.Second)
		cs = append(cs, change(alerts.ChangeRaised, a, t0, "rule"))
	}
	if _, err := send(ctx, s, cs...); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := s.Alerts(ctx, store.AlertFilter{States: []alerts.State{alerts.StateNew}, Limit: 100})
		if err != nil || len(got.Alerts) != 100 {
			b.Fatal(len(got.Alerts), err)
		}
	}
}
