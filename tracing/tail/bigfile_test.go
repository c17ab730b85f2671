package tail

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Memory bounds the tailer keeps on any file size with default options
// (64 KiB reads, 1 MiB records, batches of 500 records / 1 MiB). The heap
// is sampled while tailing; the resident peak (VmHWM) includes the Go
// runtime and this test binary.
const (
	maxPeakHeap = 32 << 20
	maxPeakRSS  = 64 << 20
	// heapGrowthSlack is how much more heap the largest file may take than
	// the smallest: GC timing, not file size.
	heapGrowthSlack = 8 << 20
)

const bigEnv = "CRMWATCH_TAIL_BIG_CHILD"

// bigResult is what the child process reports.
type bigResult struct {
	Records, Unique, Dups, Truncated int
	OversizeMetric                   float64 // crmwatch_tail_oversize_records_total
	PeakHeap, PeakRSS                uint64
	Seconds                          float64
}

// TestBoundedMemoryOnLargeFile tails one large trace file (generated from
// realistic records: short SQL records, records with call stacks, large
// error reports and one record over MaxRecordBytes) in a child process that
// samples its heap, and checks every record arrives exactly once while the
// peak heap and resident memory stay under fixed bounds that do not grow
// with the file. 32 MiB and 256 MiB run by default;
//
//	CRMWATCH_TAIL_BIG=1 go test ./tracing/tail -run TestBoundedMemoryOnLargeFile -v
//
// adds 1 GiB.
func TestBoundedMemoryOnLargeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 288 MiB and starts subprocesses")
	}
	sizes := []int64{32 << 20, 256 << 20}
	if os.Getenv("CRMWATCH_TAIL_BIG") != "" {
		sizes = append(sizes, 1<<30)
	}
	var heaps []uint64
	for _, size := range sizes {
		t.Run(fmt.Sprintf("%dMiB", size>>20), func(t *testing.T) {
			dir := t.TempDir()
			n, err := writeBigTrace(filepath.Join(dir, "CRM01-w3wp-CRMWeb-20240501-1.log"), size)
			if err != nil {
				t.Fatal(err)
			}
			res := runBigChild(t, dir, n)
			t.Logf("%d MiB, %d records: %.1fs (%.0f MB/s), peak heap %.1f MiB, peak RSS %.1f MiB",
				size>>20, res.Records, res.Seconds, float64(size)/1e6/res.Seconds,
				float64(res.PeakHeap)/(1<<20), float64(res.PeakRSS)/(1<<20))
			if res.Unique != n || res.Records != n || res.Dups != 0 {
				t.Errorf("delivered %d records (%d distinct, %d twice), want each of %d once", res.Records, res.Unique, res.Dups, n)
			}
			if res.Truncated != 1 || res.OversizeMetric != 1 {
				t.Errorf("%d records cut at MaxRecordBytes (metric %v), want the one oversize record", res.Truncated, res.OversizeMetric)
			}
			if res.PeakHeap > maxPeakHeap {
				t.Errorf("peak heap %d bytes, want ≤ %d", res.PeakHeap, maxPeakHeap)
			}
			if res.PeakRSS > maxPeakRSS {
				t.Errorf("peak RSS %d bytes, want ≤ %d", res.PeakRSS, maxPeakRSS)
			}
			heaps = append(heaps, res.PeakHeap)
		})
	}
	if len(heaps) == len(sizes) && heaps[len(heaps)-1] > heaps[0]+heapGrowthSlack {
		t.Errorf("peak heap grew with the file: %d bytes at %d MiB, %d at %d MiB", heaps[0], sizes[0]>>20, heaps[len(heaps)-1], sizes[len(sizes)-1]>>20)
	}
}

// runBigChild tails dir in a fresh process (this test binary) so the
// resident peak is the tailer's own, and decodes its report.
func runBigChild(t *testing.T, dir string, n int) bigResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBigChild$", "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), bigEnv+"="+strings.Join([]string{dir, t.TempDir(), strconv.Itoa(n)}, string(os.PathListSeparator)))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	line, _, _ := bytes.Cut(out, []byte("\n"))
	var res bigResult
	if err := json.Unmarshal(line, &res); err != nil {
		t.Fatalf("child output %q: %v", out, err)
	}
	return res
}

// TestBigChild is the child process of TestBoundedMemoryOnLargeFile: it
// follows the folder as the agent does (Run, checkpoints, default sizes)
// until every record arrived, and prints a bigResult.
func TestBigChild(t *testing.T) {
	spec := os.Getenv(bigEnv)
	if spec == "" {
		t.Skip("child process of TestBoundedMemoryOnLargeFile")
	}
	parts := strings.Split(spec, string(os.PathListSeparator))
	dir, state := parts[0], parts[1]
	n, _ := strconv.Atoi(parts[2])
	seen := make([]uint64, n/64+1) // a bit per record: ~50 KiB per 100 MiB of trace, inside the bound
	var res bigResult
	ctx, cancel := context.WithCancel(context.Background())
	handler := func(_ context.Context, b Batch) error {
		for _, r := range b.Records {
			res.Records++
			if r.Truncated {
				res.Truncated++
			}
			id, err := strconv.Atoi(idOf(r.Data))
			if err != nil || id < 0 || id >= n {
				return fmt.Errorf("record at %d has no valid id", r.Offset)
			}
			if bit := uint64(1) << (id % 64); seen[id/64]&bit != 0 {
				res.Dups++
			} else {
				seen[id/64] |= bit
				res.Unique++
			}
		}
		if res.Unique == n {
			cancel()
		}
		return nil
	}
	tl, err := New(Options{Dirs: []string{dir}, StartsRecord: startsRecord, Handler: handler, StateDir: state,
		PollInterval: 50 * time.Millisecond, IdleFlush: 100 * time.Millisecond, DisableNotify: true})
	if err != nil {
		t.Fatal(err)
	}
	stopSampling := sampleHeap(&res.PeakHeap)
	start := time.Now()
	if err := tl.Run(ctx); err != nil {
		t.Fatal(err)
	}
	res.Seconds = time.Since(start).Seconds()
	stopSampling()
	res.PeakRSS = peakRSS()
	res.OversizeMetric = testutil.ToFloat64(tl.m.oversize)
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}

// sampleHeap records the largest HeapAlloc seen every 5 ms until stopped.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			*peak = max(*peak, ms.HeapAlloc)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// peakRSS is the process's resident high-water mark (VmHWM); 0 where
// /proc is not available.
func peakRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// writeBigTrace writes a CRM-like trace file of at least size bytes and
// returns its record count. Records carry ">id=N" (N from 0): most are
// short SQL records, every 50th has a 20-frame call stack, every 5000th is
// a 64 KiB error report, and the record in the middle is 3 MiB — over the
// default MaxRecordBytes (1 MiB), so it is cut.
func writeBigTrace(path string, size int64) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	head := "[2024-05-01 10:00:00.000] Process: w3wp |Organization:11a5abbd-36aa-de11-8729-00155d00050c |Thread: 25 |Category: Platform.Sql |User: 00000000-0000-0000-0000-000000000000 |Level: Verbose |ReqId: 5d3a7b8e-0000-0000-0000-000000000001 | CrmDbConnection.InternalExecuteReader ilOffset = 0x16\r\n"
	stack := strings.Repeat("\tat Microsoft.Crm.CrmDbConnection.InternalExecuteReader(IDbCommand command, Boolean capturePerfTrace)  ilOffset = 0x16\r\n", 20)
	report := ">MSCRM Error Report:\r\n" + strings.Repeat(">"+strings.Repeat("e", 254)+"\r\n", 256)
	huge := strings.Repeat(">"+strings.Repeat("h", 1022)+"\r\n", 3<<10)
	sql := ">exec p_GetDefaultOrgFromAuthInfo 'W: S-1-5-21-500'\r\n"
	written, _ := w.WriteString(header("big"))
	n, hugeDone := 0, false
	var num []byte
	for int64(written) < size {
		num = strconv.AppendInt(num[:0], int64(n), 10)
		parts := []string{head, ">id=", string(num), "\r\n"}
		switch {
		case !hugeDone && int64(written) >= size/2:
			parts, hugeDone = append(parts, huge), true
		case n%5000 == 4999:
			parts = append(parts, report)
		case n%50 == 49:
			parts = append(parts, stack)
		}
		parts = append(parts, sql)
		for _, p := range parts {
			k, err := w.WriteString(p)
			if err != nil {
				f.Close()
				return 0, err
			}
			written += k
		}
		n++
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	return n, f.Close()
}
