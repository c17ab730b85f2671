package tracing

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

// typicalTrace returns n typical records: a head line and one `>` message
// line, about 300 bytes each (the shape of a *:Verbose CRM 2011+ trace).
func typicalTrace(n int) []byte {
	var b bytes.Buffer
	levels := []string{"Verbose", "Verbose", "Verbose", "Info", "Warning", "Error"}
	cats := []string{"Platform.Sql", "Platform", "Application", "Platform.Sdk"}
	t0 := time.Date(2015, 12, 8, 9, 0, 0, 0, time.UTC)
	for i := range n {
		fmt.Fprintf(&b, "[%s] Process: w3wp |Organization:11a5abbd-36aa-de11-8729-00155d00%04x |Thread: %3d |Category: %s |User: 00000000-0000-0000-0000-000000000000 |Level: %s |ReqId: 6a3c2e90-1f2b-4c1e-9d7a-0b5f3c8e%04x | CrmDbConnection.InternalExecuteReader ilOffset = 0x16\n>exec p_GetDefaultOrgFromAuthInfo 'W: S-1-5-21-%d'\n",
			t0.Add(time.Duration(i)*time.Millisecond).Format("2006-01-02 15:04:05.000"), i%16, i%64, cats[i%len(cats)], levels[i%len(levels)], i/4%65536, i)
	}
	return b.Bytes()
}

const benchRecords = 10_000

func BenchmarkReader(b *testing.B) {
	data := typicalTrace(benchRecords)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var rec Record
	n := 0
	cpu0 := processCPU()
	for b.Loop() {
		rd := NewReader(bytes.NewReader(data))
		for rd.NextInto(&rec) == nil {
			n++
		}
	}
	reportRate(b, n)
	cpuRate(b, n, cpu0)
}

func BenchmarkParseRecord(b *testing.B) {
	data := typicalTrace(1)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var rec Record
	var p parser
	s := string(data)
	cpu0 := processCPU()
	for b.Loop() {
		rec.reset()
		_ = p.parse(&rec, s, time.UTC)
	}
	reportRate(b, b.N)
	cpuRate(b, b.N, cpu0)
}

// BenchmarkNaiveRegexp is the baseline: the obvious parser, one regexp per
// line and a regexp per field (what the public C# parsers do). The ratio
// metric of BenchmarkReader divides by this one's records/s.
func BenchmarkNaiveRegexp(b *testing.B) {
	data := typicalTrace(benchRecords)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	n := 0
	cpu0 := processCPU()
	for b.Loop() {
		n += naiveParse(b, bytes.NewReader(data))
	}
	reportRate(b, n)
	cpuRate(b, n, cpu0)
}

// BenchmarkReaderVsNaive runs both on the same input and reports the ratio.
func BenchmarkReaderVsNaive(b *testing.B) {
	data := typicalTrace(benchRecords)
	b.ReportAllocs()
	// CPU time when the platform reports it: the shared machine's load
	// skews wall-clock ratios of single runs.
	clock := processCPU
	if clock() == 0 {
		start := time.Now()
		clock = func() time.Duration { return time.Since(start) }
	}
	var fast, slow time.Duration
	var rec Record
	for b.Loop() {
		t := clock()
		rd := NewReader(bytes.NewReader(data))
		for rd.NextInto(&rec) == nil {
		}
		fast += clock() - t
		t = clock()
		naiveParse(b, bytes.NewReader(data))
		slow += clock() - t
	}
	b.ReportMetric(float64(b.N*benchRecords)/fast.Seconds(), "records/s")
	b.ReportMetric(float64(b.N*benchRecords)/slow.Seconds(), "naive-records/s")
	b.ReportMetric(slow.Seconds()/fast.Seconds(), "x-faster")
}

func reportRate(b *testing.B, records int) {
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// cpuRate reports records per CPU-second of the process since cpu0.
func cpuRate(b *testing.B, records int, cpu0 time.Duration) {
	if d := processCPU() - cpu0; d > 0 {
		b.ReportMetric(float64(records)/d.Seconds(), "records/cpu-s")
	}
}

var (
	naiveHead  = regexp.MustCompile(`^\[(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?)\]\s*Process:\s*(?P<proc>[^|]*?)\s*\|(?P<rest>.*)$`)
	naiveField = regexp.MustCompile(`^(Organization|Thread|Category|User|Level|ReqId|ActivityId):\s*(.*)$`)
)

// naiveParse is the baseline parser (regexp per line and per field).
func naiveParse(tb testing.TB, r io.Reader) int {
	sc := bufio.NewScanner(r)
	n := 0
	var cur map[string]string
	for sc.Scan() {
		line := sc.Text()
		m := naiveHead.FindStringSubmatch(line)
		if m == nil {
			if cur != nil && strings.HasPrefix(line, ">") {
				cur["message"] += line[1:]
			}
			continue
		}
		ts, err := time.Parse("2006-01-02 15:04:05.999999999", m[1])
		if err != nil {
			tb.Fatal(err)
		}
		cur = map[string]string{"time": ts.String(), "process": m[2]}
		for _, piece := range strings.Split(m[3], "|") {
			if f := naiveField.FindStringSubmatch(strings.TrimSpace(piece)); f != nil {
				cur[f[1]] = strings.TrimSpace(f[2])
			} else {
				cur["operation"] = strings.TrimSpace(piece)
			}
		}
		n++
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		tb.Fatal(err)
	}
	return n
}
