package agent

import (
	"context"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/collectors"
	"crmwatch/event"
)

// countingFactory counts the collectors it starts and registers a metric
// for each, as real collectors do.
type countingFactory struct {
	typ    string
	mu     *sync.Mutex
	starts map[string]int
}

func (f countingFactory) Type() string { return f.typ }
func (f countingFactory) DefaultConfig() collectors.Config {
	return &dirsConfig{Dirs: []string{"-"}, Interval: "1s"}
}
func (f countingFactory) New(_ collectors.Config, set collectors.Settings) (collectors.Collector, error) {
	f.mu.Lock()
	f.starts[f.typ]++
	f.mu.Unlock()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_test_runs_total", Help: "test"})
	if err := set.Registerer.Register(c); err != nil {
		return nil, err
	}
	return idle{}, nil
}

// TestSupervisorSwapsOnlyChanged: a new configuration restarts only the
// collector whose configuration changed (its metrics re-register
// cleanly), removes the ones no longer configured, keeps the others.
func TestSupervisorSwapsOnlyChanged(t *testing.T) {
	var mu sync.Mutex
	starts := map[string]int{}
	facs := []collectors.Factory{countingFactory{"a", &mu, starts}, countingFactory{"b", &mu, starts}}
	a, err := New(Options{Name: "h", StateDir: t.TempDir(), Factories: facs})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSupervisor(ctx, a, sinks{direct: collectors.SinkFunc(func(context.Context, event.Batch) error { return nil })}, reg)
	defer s.stopAll()
	cfg := func(interval string) *dirsConfig { return &dirsConfig{Dirs: []string{"/t"}, Interval: interval} }
	steps := []struct {
		configs map[string]collectors.Config
		starts  map[string]int
		running int
	}{
		{map[string]collectors.Config{"a": cfg("1s"), "b": cfg("1s")}, map[string]int{"a": 1, "b": 1}, 2},
		{map[string]collectors.Config{"a": cfg("1s"), "b": cfg("5s")}, map[string]int{"a": 1, "b": 2}, 2},
		{map[string]collectors.Config{"a": cfg("1s")}, map[string]int{"a": 1, "b": 2}, 1},
		{map[string]collectors.Config{"a": cfg("1s"), "b": cfg("5s")}, map[string]int{"a": 1, "b": 3}, 2},
	}
	for i, st := range steps {
		if err := s.apply(st.configs, nil); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		mu.Lock()
		for typ, n := range st.starts {
			if starts[typ] != n {
				t.Errorf("step %d: %s started %d times, want %d", i, typ, starts[typ], n)
			}
		}
		mu.Unlock()
		if got := len(s.types()); got != st.running {
			t.Errorf("step %d: %d running, want %d", i, got, st.running)
		}
		if n, _ := reg.Gather(); len(n) != 1 || len(n[0].GetMetric()) != st.running {
			t.Errorf("step %d: metrics %v, want one series per running collector", i, n)
		}
	}
}
