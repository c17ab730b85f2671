package simulate

import (
	"testing"
)

// BenchmarkGenerate measures the simulator's write throughput: 1000 records
// per host per op on the default 3-host farm with verbose tracing and call
// stacks (the heaviest realistic setting). MB/s is trace bytes written.
func BenchmarkGenerate(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"verbose", Options{Categories: "*:Verbose"}},
		{"verbose-callstack-faults", Options{Categories: "*:Verbose", CallStack: true,
			Faults: []string{FaultSQLTimeouts, FaultSandboxCrash, FaultAsyncBacklog}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			opts := tc.opts
			opts.Out, opts.Start, opts.Seed = b.TempDir(), testStart, 1
			f, err := New(opts)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := f.Generate(1000); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			var bytes int64
			for _, s := range f.Stats() {
				bytes += s.Trace.Bytes
			}
			b.SetBytes(bytes / int64(b.N))
		})
	}
}

// BenchmarkAppendRecord isolates formatting one record (the per-record hot
// path of every output file).
func BenchmarkAppendRecord(b *testing.B) {
	f, err := New(Options{Out: b.TempDir(), Start: testStart, CallStack: true})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	o := f.hosts[0].trace
	s, err := o.newSpan(testStart)
	if err != nil {
		b.Fatal(err)
	}
	rs := &s.recs[0]
	buf := o.appendRecord(nil, s, rs, testStart)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = o.appendRecord(buf[:0], s, rs, testStart)
	}
}
