package perfcounters

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dirFS is procFS over a testdata snapshot with fixed file-system sizes.
type dirFS struct {
	root string
	fs   map[string][2]uint64
}

func (d *dirFS) ReadFile(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(d.root, name))
}

func (d *dirFS) ReadDir(name string) ([]string, error) {
	es, err := os.ReadDir(filepath.Join(d.root, name))
	if err != nil {
		return nil, err
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name()
	}
	return out, nil
}

func (d *dirFS) Statfs(dir string) (uint64, uint64, error) {
	v, ok := d.fs[dir]
	if !ok {
		return 0, 0, os.ErrNotExist
	}
	return v[0], v[1], nil
}

func formatFloat(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64)
}

// TestProcMapping reads two /proc snapshots ten seconds apart and checks
// every mapped counter against values worked out by hand from the files
// (see the comments).
func TestProcMapping(t *testing.T) {
	fs := &dirFS{root: "testdata/proc/t0", fs: map[string][2]uint64{"/": {100 << 30, 25 << 30}, "/data disk": {50 << 30, 5 << 30}}}
	src := newProcSource(fs)
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	src.now = func() time.Time { return t0 }
	want := paths(t,
		`\Processor(*)\% Processor Time`, `\Processor(_Total)\% Privileged Time`, `\Processor(_Total)\% Interrupt Time`,
		`\Processor(_Total)\% DPC Time`, `\Processor(_Total)\% Idle Time`, `\Processor(_Total)\% User Time`,
		`\System\Processor Queue Length`, `\System\Context Switches/sec`, `\System\System Up Time`, `\System\Processes`,
		`\Memory\Available MBytes`, `\Memory\% Committed Bytes In Use`, `\Memory\Committed Bytes`, `\Memory\Cache Bytes`,
		`\Paging File(_Total)\% Usage`,
		`\LogicalDisk(*)\% Free Space`, `\LogicalDisk(/)\Free Megabytes`,
		`\PhysicalDisk(*)\Avg. Disk sec/Read`, `\PhysicalDisk(vda)\Avg. Disk sec/Write`, `\PhysicalDisk(vda)\Avg. Disk sec/Transfer`,
		`\PhysicalDisk(vda)\Disk Reads/sec`, `\PhysicalDisk(vda)\Disk Read Bytes/sec`, `\PhysicalDisk(vda)\% Idle Time`,
		`\PhysicalDisk(vda)\Avg. Disk Queue Length`, `\PhysicalDisk(vda)\Current Disk Queue Length`,
		`\Network Interface(*)\Bytes Total/sec`, `\Network Interface(eth0)\Packets Outbound Errors`,
		`\TCPv4\Connection Failures`, `\TCPv4\Connections Established`, `\TCPv4\Segments Retransmitted/sec`,
		`\Process(*)\Thread Count`, `\Process(*)\Handle Count`,
		`\Memory\Pages/sec`, `\CRM Server(*)\Failed Organization Service Requests`)
	first, err := src.Read(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range first {
		if def := procCounters[strings.ToLower(r.Path.Object)][strings.ToLower(r.Path.Counter)]; def.rate {
			t.Errorf("first read returned rate counter %s; rate counters need two samples", r.Path)
		}
	}
	fs.root = "testdata/proc/t1"
	src.now = func() time.Time { return t0.Add(10 * time.Second) }
	second, err := src.Read(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range second {
		got[r.Path.String()] = formatFloat(r.Value)
	}
	expect := map[string]string{
		// cpu deltas: user 600 system 200 idle 500 iowait 100 irq 50 softirq 50 of 1500.
		`\Processor(_Total)\% Processor Time`:  "60",
		`\Processor(0)\% Processor Time`:       "60",
		`\Processor(1)\% Processor Time`:       "60",
		`\Processor(_Total)\% Privileged Time`: "20",
		`\Processor(_Total)\% Interrupt Time`:  "3.333333",
		`\Processor(_Total)\% DPC Time`:        "3.333333",
		`\Processor(_Total)\% Idle Time`:       "40",
		`\Processor(_Total)\% User Time`:       "40",
		// procs_running 5 on 2 CPUs; ctxt +50000 in 10 s.
		`\System\Processor Queue Length`: "3",
		`\System\Context Switches/sec`:   "5000",
		`\System\System Up Time`:         "1010.5",
		`\System\Processes`:              "4",
		// 4 GiB available; committed 9 GiB of 16 GiB RAM + 2 GiB swap.
		`\Memory\Available MBytes`:         "4096",
		`\Memory\% Committed Bytes In Use`: "50",
		`\Memory\Committed Bytes`:          "9663676416",
		`\Memory\Cache Bytes`:              "2147483648",
		`\Paging File(_Total)\% Usage`:     "50",
		// statfs: / 25 of 100 GiB free, /data disk 5 of 50 GiB.
		`\LogicalDisk(/)\% Free Space`:          "25",
		`\LogicalDisk(/data disk)\% Free Space`: "10",
		`\LogicalDisk(_Total)\% Free Space`:     "20",
		`\LogicalDisk(/)\Free Megabytes`:        "25600",
		// vda: +100 reads in +1000 ms, +200 writes in +1000 ms, io +5000 ms.
		`\PhysicalDisk(vda)\Avg. Disk sec/Read`:        "0.01",
		`\PhysicalDisk(vda)\Avg. Disk sec/Write`:       "0.005",
		`\PhysicalDisk(vda)\Avg. Disk sec/Transfer`:    "0.006667",
		`\PhysicalDisk(vda)\Disk Reads/sec`:            "10",
		`\PhysicalDisk(vda)\Disk Read Bytes/sec`:       "102400",
		`\PhysicalDisk(vda)\% Idle Time`:               "50",
		`\PhysicalDisk(vda)\Avg. Disk Queue Length`:    "0.8",
		`\PhysicalDisk(vda)\Current Disk Queue Length`: "2",
		// eth0: +1,000,000 received and +500,000 sent bytes in 10 s; lo is left out.
		`\Network Interface(eth0)\Bytes Total/sec`:         "150000",
		`\Network Interface(eth0)\Packets Outbound Errors`: "4",
		`\TCPv4\Connection Failures`:                       "3",
		`\TCPv4\Connections Established`:                   "5",
		`\TCPv4\Segments Retransmitted/sec`:                "5",
		// Two processes of one name get #1; pid 43's descriptors are unreadable.
		`\Process(systemd)\Thread Count`:        "1",
		`\Process(crm (worker))\Thread Count`:   "12",
		`\Process(crm (worker)#1)\Thread Count`: "7",
		`\Process(systemd)\Handle Count`:        "3",
		`\Process(crm (worker))\Handle Count`:   "5",
	}
	for k, v := range expect {
		if got[k] != v {
			t.Errorf("%s = %q, want %s", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := expect[k]; !ok {
			t.Errorf("unexpected reading %s = %s", k, got[k])
		}
	}
	// Malformed lines (a short cpu line, a bad meminfo line, a short
	// net/dev line, a broken /proc/PID/stat) are counted, not fatal.
	if n := src.takeMalformed(); n == 0 {
		t.Error("malformed /proc lines were not counted")
	}
}

// TestProcOnThisHost reads the real /proc twice: the headline
// counters have plausible values on the machine running the tests.
func TestProcOnThisHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the /proc source is Linux only")
	}
	fn, ok := nativeSource(SourceAuto)
	if !ok {
		t.Fatal("no native source on linux")
	}
	src, _ := fn()
	want := paths(t, `\Processor(_Total)\% Processor Time`, `\Memory\Available MBytes`, `\LogicalDisk(*)\% Free Space`,
		`\Network Interface(*)\Bytes Total/sec`, `\PhysicalDisk(*)\Avg. Disk sec/Read`)
	if _, err := src.Read(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	rs, err := src.Read(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]float64{}
	for _, r := range rs {
		seen[strings.ToLower(r.Path.Object+`\`+r.Path.Counter)] = r.Value
		if r.Value < 0 || math.IsNaN(r.Value) {
			t.Errorf("%s = %v", r.Path, r.Value)
		}
	}
	for _, k := range []string{`processor\% processor time`, `memory\available mbytes`, `logicaldisk\% free space`} {
		if _, ok := seen[k]; !ok {
			t.Errorf("no %s from this host's /proc (got %v)", k, seen)
		}
	}
	if v := seen[`processor\% processor time`]; v > 100 {
		t.Errorf("%% Processor Time = %v", v)
	}
}

func FuzzProcParsers(f *testing.F) {
	for _, name := range []string{"proc/stat", "proc/meminfo", "proc/net/dev", "proc/diskstats", "proc/net/snmp", "proc/mounts", "proc/42/stat"} {
		b, err := os.ReadFile(filepath.Join("testdata/proc/t0", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("cpu 1\ncpu0\nctxt x\n(\n)(\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, _ := parseStat(b)
		for id, c := range st.cpus {
			_ = c.total()
			if strings.ContainsAny(id, " \n") {
				t.Fatalf("cpu id %q holds a separator", id)
			}
		}
		_, _ = parseMeminfo(b)
		_, _ = parseNetDev(b)
		_, _ = parseDiskstats(b)
		_, _ = parseSNMP(b, "Tcp")
		ms, _ := parseMounts(b)
		for _, m := range ms {
			if !diskFSTypes[m.fstype] {
				t.Fatalf("mount of type %q kept", m.fstype)
			}
		}
		_, _ = parsePidStat(b)
	})
}

// TestProcCountersDocumented keeps the README's table of Linux mappings
// in step with the code.
func TestProcCountersDocumented(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ToLower(string(readme))
	for _, name := range procCounterNames() {
		obj, counter, _ := strings.Cut(name, `\`)
		if !strings.Contains(text, fmt.Sprintf("| `\\%s", obj)) || !strings.Contains(text, counter) {
			t.Errorf("README.md does not document %s", name)
		}
	}
}
