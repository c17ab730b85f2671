package notify_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/alerts/suppress"
	"crmwatch/notify"
	"crmwatch/notify/webhook"
	"crmwatch/secret"
)

// An alert that keeps repeating is notified again once per repeat
// interval — the router's default, or its route's — not once per repeat,
// and not at all once acknowledged; the interval runs from the last
// notification, through the store's log.
func TestPipelineReminders(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	h := newHook(t)
	crit, err := suppress.ParseMatcher("severity=critical")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := notify.NewRouter([]notify.Route{
		{Matchers: []suppress.Matcher{crit}, Receivers: []string{"pager"}, Continue: true, RepeatInterval: 20 * time.Minute},
		{Receivers: []string{"noc"}},
	}, []string{"noc", "pager"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	var now time.Time
	pipes := map[string]*notify.Pipeline{}
	for _, name := range []string{"noc", "pager"} {
		pipes[name] = notify.NewPipeline(notify.PipelineOptions{
			Receiver: webhook.New(name, webhook.Config{URL: secret.MustURL(h.URL + "/" + name), Secret: secret.New(hookKey)}),
			Router:   rt, Log: st, Holder: "test", Now: func() time.Time { return now },
		})
	}
	sent := map[string][]int{} // receiver → minutes at which it was notified
	seq, version := int64(0), int64(0)
	at := func(minute int, kind alerts.ChangeKind, state alerts.State) {
		t.Helper()
		now = t0.Add(time.Duration(minute) * time.Minute)
		seq++
		version++
		c := committed(seq, kind, "A", version, state)
		c.Alert.Severity = alerts.SeverityCritical
		for name, p := range pipes {
			_, before := h.count()
			if err := p.Process(context.Background(), []alerts.Committed{c}, nil); err != nil {
				t.Fatal(err)
			}
			if _, after := h.count(); after > before {
				sent[name] = append(sent[name], minute)
			}
		}
	}
	at(0, alerts.ChangeRaised, alerts.StateNew)
	for m := 5; m <= 130; m += 5 {
		at(m, alerts.ChangeRepeated, alerts.StateNew)
	}
	at(131, alerts.ChangeAcknowledged, alerts.StateAcknowledged)
	for m := 135; m <= 300; m += 5 {
		at(m, alerts.ChangeRepeated, alerts.StateAcknowledged)
	}
	want := map[string][]int{"noc": {0, 60, 120}, "pager": {0, 20, 40, 60, 80, 100, 120}}
	for name, w := range want {
		if got := sent[name]; !equalInts(got, w) {
			t.Errorf("%s notified at minutes %v, want %v", name, got, w)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
