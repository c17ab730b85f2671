package tail

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Trickle set-up: CRM writes a little to many files (one trace file per
// process and application, a new one per day and per size roll-over), so
// the agent's cost must follow the records, not the number of files.
const (
	trickleRate     = 100 // records per second, over all files
	trickleManyFile = 5000
	trickleEnv      = "CRMWATCH_TAIL_TRICKLE_CHILD"
	// trickleInit records are in every file before the trickle starts: a
	// trace file past its first kilobyte, so its fingerprint is complete.
	trickleInit = 4
	// CRMWATCH_TAIL_TRICKLE_SECONDS sets how long each phase writes
	// (default 10 s: 1,000 records).
	trickleSecondsEnv = "CRMWATCH_TAIL_TRICKLE_SECONDS"
	// CRMWATCH_TAIL_TRICKLE_PROFILE=FILE writes each child's CPU profile
	// of the trickle to FILE.1 and FILE.5000.
	trickleProfileEnv = "CRMWATCH_TAIL_TRICKLE_PROFILE"
)

// trickleResult is what the child process reports.
type trickleResult struct {
	Records  int
	CPUNanos int64 // user + system time of the child during the trickle
}

// BenchmarkTrickleCPU measures the agent's CPU time per record when 100
// records/s trickle into 1 file and into 5,000 files, in the same run, each
// in a fresh child process running the tailer with its defaults
// (checkpoints on, file-system notifications on). The writer appends one
// record at a time (open, write, close) round-robin over the files, each of
// which already holds a header and trickleInit records. The child's CPU is
// read with getrusage from the moment those were all delivered (start-up
// excluded) until the last trickled record was; it reports cpu-us/rec for
// each case and their ratio. One run takes
// about 2 × CRMWATCH_TAIL_TRICKLE_SECONDS (default 10) plus start-up; b.N is
// not used.
func BenchmarkTrickleCPU(b *testing.B) {
	if testing.Short() {
		b.Skip("starts subprocesses and runs for about 30 s")
	}
	if cpuNanos() == 0 {
		b.Skip("no getrusage on this system")
	}
	seconds := 10
	if s, err := strconv.Atoi(os.Getenv(trickleSecondsEnv)); err == nil && s > 0 {
		seconds = s
	}
	var one, many float64
	for b.Loop() {
		one = runTrickle(b, 1, seconds*trickleRate)
		many = runTrickle(b, trickleManyFile, seconds*trickleRate)
	}
	b.ReportMetric(one, "cpu-us/rec-1file")
	b.ReportMetric(many, "cpu-us/rec-5000files")
	b.ReportMetric(many/one, "ratio")
}

// runTrickle writes records to files files at trickleRate in a child
// tailer and returns the child's CPU microseconds per record.
func runTrickle(b *testing.B, files, n int) float64 {
	b.Helper()
	dir := b.TempDir()
	paths := make([]string, files)
	for i := range paths {
		paths[i] = logPath(dir, fmt.Sprintf("CRM01-w3wp(%d#0000)-CRMWeb-20240501-1.log", i))
		if err := os.WriteFile(paths[i], []byte(header(strconv.Itoa(i))+records("init"+strconv.Itoa(i)+"-", 0, trickleInit)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestTrickleChild$", "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), trickleEnv+"="+strings.Join([]string{dir, b.TempDir(), strconv.Itoa(files), strconv.Itoa(n)}, string(os.PathListSeparator)))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		b.Fatalf("child did not get ready: %q %v", lines.Text(), lines.Err())
	}
	next := time.Now()
	for i := range n {
		appendFile(b, paths[i%files], record("t"+strconv.Itoa(i)))
		next = next.Add(time.Second / trickleRate)
		time.Sleep(time.Until(next)) // pacing the writer, not synchronisation
	}
	if !lines.Scan() {
		b.Fatalf("child ended without a result: %v", lines.Err())
	}
	var res trickleResult
	if err := json.Unmarshal(lines.Bytes(), &res); err != nil {
		b.Fatalf("child result %q: %v", lines.Text(), err)
	}
	return float64(res.CPUNanos) / 1e3 / float64(res.Records)
}

// TestTrickleChild is the child process of BenchmarkTrickleCPU.
func TestTrickleChild(t *testing.T) {
	spec := os.Getenv(trickleEnv)
	if spec == "" {
		t.Skip("child process of BenchmarkTrickleCPU")
	}
	parts := strings.Split(spec, string(os.PathListSeparator))
	dir, state := parts[0], parts[1]
	files, _ := strconv.Atoi(parts[2])
	records, _ := strconv.Atoi(parts[3])
	var got atomic.Int64
	var start int64
	ctx, cancel := context.WithCancel(context.Background())
	handler := func(_ context.Context, b Batch) error {
		n := got.Add(int64(len(b.Records)))
		if n == int64(files*trickleInit) && start == 0 {
			start = cpuNanos()
			if p := os.Getenv(trickleProfileEnv); p != "" {
				if f, err := os.Create(p + "." + strconv.Itoa(files)); err == nil {
					_ = pprof.StartCPUProfile(f)
				}
			}
			fmt.Println("ready")
		}
		if n >= int64(files*trickleInit+records) {
			cancel()
		}
		return nil
	}
	tl, err := New(Options{Dirs: []string{dir}, StartsRecord: startsRecord, Handler: handler, StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.Run(ctx); err != nil {
		t.Fatal(err)
	}
	pprof.StopCPUProfile()
	out, _ := json.Marshal(trickleResult{Records: int(got.Load()) - files*trickleInit, CPUNanos: cpuNanos() - start})
	fmt.Println(string(out))
}
