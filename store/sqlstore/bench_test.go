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

// BenchmarkSendRepeat measures the hot path: one repeat with one event per
// Send, as the engine emits while a fault keeps firing.
func BenchmarkSendRepeat(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "b.db"), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	a := testAlert("bench")
	if err := s.Send(ctx, []alerts.Change{change(alerts.ChangeRaised, a, t0, "rule")}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a.RepeatCount, a.LastSeen = i+2, t0.Add(time.Duration(i)*time.Second)
		if err := s.Send(ctx, []alerts.Change{change(alerts.ChangeRepeated, a, a.LastSeen, "rule", ev(i))}); err != nil {
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
	if err := s.Send(ctx, cs); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := s.Alerts(ctx, store.AlertFilter{States: []alerts.State{alerts.StateNew}, Limit: 100})
		if err != nil || len(got) != 100 {
			b.Fatal(len(got), err)
		}
	}
}
