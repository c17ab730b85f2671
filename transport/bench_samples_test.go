package transport

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
	"crmwatch/packs"
	"crmwatch/packs/crm"
	"crmwatch/rules"
)

// ingestHosts is the farm BenchmarkIngestSamples publishes: front ends,
// async servers and SQL servers, each reporting the counters the built-in
// pack's rules watch for its roles.
var ingestHosts = []struct {
	prefix string
	roles  []string
	n      int
}{
	{"CRMAPP", []string{"AppServer", "SdkServer", "DiscoveryService", "HelpServer"}, 10},
	{"CRMASYNC", []string{"AsyncService", "SandboxService"}, 6},
	{"CRMSQL", []string{"SqlServer"}, 4},
}

// engineHandler is the server's ingest path without a store: the rules
// engine with the built-in pack evaluates every sample.
type engineHandler struct {
	e *rules.Engine
	n atomic.Int64
}

func (h *engineHandler) HandleEvents(ctx context.Context, evs []event.Event) error {
	h.n.Add(int64(len(evs)))
	return h.e.ProcessEvents(ctx, evs)
}

func (h *engineHandler) HandleSamples(ctx context.Context, ss []event.Sample) error {
	h.n.Add(int64(len(ss)))
	return h.e.ProcessSamples(ctx, ss)
}

type nopSender struct{}

func (nopSender) Send(context.Context, []alerts.Change) error { return nil }

// builtinIngestEngine loads the built-in pack as the server does and
// announces the benchmark hosts by heartbeat, so role-scoped rules apply.
func builtinIngestEngine(b *testing.B) (*rules.Engine, []rules.Rule) {
	p, err := crm.Load()
	if err != nil {
		b.Fatal(err)
	}
	rs, err := packs.FarmRules(p, nil)
	if err != nil {
		b.Fatal(err)
	}
	e := rules.NewEngine(rules.Options{Sender: nopSender{}, Logger: slog.New(slog.DiscardHandler)})
	if err := e.Load(rs); err != nil {
		b.Fatal(err)
	}
	return e, rs
}

// processInstances are the Process(*) instances of a CRM server: IIS
// worker processes, the CRM services and what Windows runs besides.
var processInstances = func() []string {
	out := []string{"w3wp", "w3wp#1", "w3wp#2", "CrmAsyncService", "CrmAsyncService#1", "Microsoft.Crm.Sandbox.HostService", "lsass", "services"}
	for i := range 32 {
		out = append(out, fmt.Sprintf("svchost#%d", i))
	}
	return out
}()

// hostSamples returns one round of a host's samples: the counters of the
// pack's threshold and trend rules for its roles, wildcard instances as
// four instances (Process(*) as 40), values on the healthy side of every level.
func hostSamples(rs []rules.Rule, host string, roles []string) []event.Sample {
	var out []event.Sample
	seen := map[string]bool{}
	for _, r := range rs {
		if len(r.Roles) > 0 && !overlaps(r.Roles, roles) {
			continue
		}
		counter, value := "", 0.0
		switch {
		case r.Threshold != nil:
			counter, value = r.Threshold.Counter, healthy(r.Threshold)
		case r.Trend != nil:
			counter = r.Trend.Counter
		default:
			continue
		}
		instances := []string{""}
		switch {
		case strings.HasPrefix(counter, `\Process(*)`):
			instances = processInstances
		case strings.Contains(counter, "(*)"):
			instances = []string{"a", "b", "c", "d"}
		}
		for _, in := range instances {
			path := strings.Replace(counter, "(*)", "("+in+")", 1)
			if !seen[path] {
				seen[path] = true
				out = append(out, event.Sample{Host: host, Counter: path, Value: value})
			}
		}
	}
	return out
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// healthy is a value no level of t reaches.
func healthy(t *rules.Threshold) float64 {
	lv := t.Levels.Warning
	if lv == nil {
		lv = t.Levels.Critical
	}
	if lv == nil {
		return 0
	}
	if t.Op == "lt" || t.Op == "le" {
		return *lv*2 + 1
	}
	return *lv/2 - 1
}

// BenchmarkIngestSamples measures samples end to end: eight agents publish
// their hosts' counter rounds (one acknowledged message per host and
// round) to an embedded NATS that fsyncs every write, and the Consumer
// decodes them and hands them to the rules engine with the built-in pack.
// The JSON codec runs in the same benchmark as the baseline. One op is
// one host round; the figure to read is samples/s.
func BenchmarkIngestSamples(b *testing.B) {
	for _, codec := range []string{CodecJSON, CodecBinary} {
		b.Run("codec="+codec, func(b *testing.B) { benchIngestSamples(b, codec) })
	}
}

func benchIngestSamples(b *testing.B, codec string) {
	e, err := StartEmbedded(EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Shutdown()
	_, _, js, names := connectTo(b, e)
	engine, rs := builtinIngestEngine(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type host struct {
		name    string
		samples []event.Sample
	}
	var hosts []host
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for _, h := range ingestHosts {
		for i := range h.n {
			name := fmt.Sprintf("%s%02d", h.prefix, i+1)
			if err := engine.Heartbeat(ctx, name, h.roles, t0); err != nil {
				b.Fatal(err)
			}
			hosts = append(hosts, host{name, hostSamples(rs, name, h.roles)})
		}
	}
	h := &engineHandler{e: engine}
	r := NewReader(ReaderOptions{JS: js, Stream: names.SamplesStream()}, DecodeBatch)
	go func() { _ = r.Run(ctx) }()
	go func() { // the evaluator's loop without a store: drain what is waiting, evaluate it
		for it := range r.C() {
			ss := it.Value.Samples
			for more := true; more && len(ss) < 1<<16; {
				select {
				case next, ok := <-r.C():
					if !ok {
						more = false
						break
					}
					ss = append(ss, next.Value.Samples...)
				default:
					more = false
				}
			}
			_ = h.HandleSamples(ctx, ss)
		}
	}()
	const agents = 8
	pubs := make([]*Publisher, agents)
	for i := range pubs {
		if pubs[i], err = NewPublisher(PublisherOptions{JS: js, Names: names, Codec: codec}); err != nil {
			b.Fatal(err)
		}
	}
	var total atomic.Int64
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for a := range agents {
		wg.Go(func() {
			for {
				op := next.Add(1) - 1
				if op >= int64(b.N) {
					return
				}
				hh := hosts[op%int64(len(hosts))]
				round := op / int64(len(hosts))
				ss := make([]event.Sample, len(hh.samples))
				at := t0.Add(time.Duration(round) * 15 * time.Second)
				for i, s := range hh.samples {
					s.Time = at
					ss[i] = s
				}
				if err := pubs[a].Emit(ctx, event.Batch{Host: hh.name, Samples: ss}); err != nil {
					b.Error(err)
					return
				}
				total.Add(int64(len(ss)))
			}
		})
	}
	wg.Wait()
	for h.n.Load() < total.Load() {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(total.Load())/elapsed.Seconds(), "samples/s")
	b.ReportMetric(float64(total.Load())/float64(b.N), "samples/op")
}
