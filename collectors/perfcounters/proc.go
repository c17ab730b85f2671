package perfcounters

import (
	"context"
	"strconv"
	"strings"
	"time"

	"crmwatch/event"
)

// procFS is what the /proc source reads. Paths are relative to the host
// root ("proc/stat"); tests point it at testdata.
type procFS interface {
	ReadFile(name string) ([]byte, error)
	ReadDir(name string) ([]string, error)
	// Statfs returns a mounted file system's size and the bytes an
	// unprivileged process may still use.
	Statfs(dir string) (total, avail uint64, err error)
}

// procSnap is one reading of the files the wanted objects need.
type procSnap struct {
	at      time.Time
	stat    statFile
	mem     map[string]uint64
	net     map[string]netDev
	disks   map[string]diskStat
	fs      map[string][2]uint64 // mount dir → total, avail bytes
	tcp     map[string]uint64
	uptime  float64
	procs   map[string]procPidStat // instance name → stat
	fds     map[string]uint64      // instance name → open file descriptors
	nprocs  int
	malform int
}

// procSource maps the host's /proc onto Windows counter paths where they
// mean the same thing (procmap.go lists them). Rate counters use the
// previous snapshot, so they appear from the second read on.
type procSource struct {
	fs   procFS
	prev *procSnap
	now  func() time.Time
	// malformed counts lines of /proc files that could not be read.
	malformed int
}

func newProcSource(fs procFS) *procSource {
	return &procSource{fs: fs, now: time.Now}
}

func (s *procSource) Close() error { return nil }

// takeMalformed returns and resets the count of unreadable /proc lines.
func (s *procSource) takeMalformed() int {
	n := s.malformed
	s.malformed = 0
	return n
}

func (s *procSource) Read(ctx context.Context, want []event.CounterPath) ([]Reading, error) {
	need := map[string]bool{}
	for _, w := range want {
		need[strings.ToLower(w.Object)] = true
	}
	cur := s.snapshot(need)
	s.malformed += cur.malform
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var dt float64
	if s.prev != nil {
		dt = cur.at.Sub(s.prev.at).Seconds()
	}
	var out []Reading
	for _, w := range want {
		def, ok := procCounters[strings.ToLower(w.Object)][strings.ToLower(w.Counter)]
		if !ok || (def.rate && (s.prev == nil || dt <= 0)) {
			continue
		}
		for inst, v := range def.fn(cur, s.prev, dt) {
			if !instanceMatches(w.Instance, inst) {
				continue
			}
			p := w
			p.Machine, p.Instance = "", inst
			out = append(out, Reading{Path: p, Value: v})
		}
	}
	s.prev = cur
	return out, nil
}

// snapshot reads only the files the wanted objects need; a file that
// cannot be read leaves its part empty.
func (s *procSource) snapshot(need map[string]bool) *procSnap {
	c := &procSnap{at: s.now()}
	read := func(name string) []byte {
		b, err := s.fs.ReadFile(name)
		if err != nil {
			return nil
		}
		return b
	}
	var bad int
	if need["processor"] || need["system"] {
		c.stat, bad = parseStat(read("proc/stat"))
		c.malform += bad
		if f := strings.Fields(string(read("proc/uptime"))); len(f) > 0 {
			c.uptime, _ = strconv.ParseFloat(f[0], 64)
		}
		if need["system"] {
			c.nprocs = len(s.pids())
		}
	}
	if need["memory"] || need["paging file"] {
		c.mem, bad = parseMeminfo(read("proc/meminfo"))
		c.malform += bad
	}
	if need["network interface"] {
		c.net, bad = parseNetDev(read("proc/net/dev"))
		c.malform += bad
		delete(c.net, "lo")
	}
	if need["physicaldisk"] {
		c.disks, bad = parseDiskstats(read("proc/diskstats"))
		c.malform += bad
		s.keepWholeDisks(c.disks)
	}
	if need["logicaldisk"] {
		c.fs = s.fileSystems(read("proc/mounts"), c)
	}
	if need["tcpv4"] {
		c.tcp, bad = parseSNMP(read("proc/net/snmp"), "Tcp")
		c.malform += bad
	}
	if need["process"] {
		s.processes(c)
	}
	return c
}

// keepWholeDisks keeps the block devices /sys/block lists (whole disks,
// not partitions), without loop, RAM and compressed-RAM devices.
func (s *procSource) keepWholeDisks(disks map[string]diskStat) {
	names, err := s.fs.ReadDir("sys/block")
	if err != nil {
		return
	}
	whole := map[string]bool{}
	for _, n := range names {
		if !strings.HasPrefix(n, "loop") && !strings.HasPrefix(n, "ram") && !strings.HasPrefix(n, "zram") {
			whole[n] = true
		}
	}
	for n := range disks {
		if !whole[n] {
			delete(disks, n)
		}
	}
}

func (s *procSource) fileSystems(mounts []byte, c *procSnap) map[string][2]uint64 {
	ms, bad := parseMounts(mounts)
	c.malform += bad
	out := map[string][2]uint64{}
	for _, m := range ms {
		total, avail, err := s.fs.Statfs(m.dir)
		if err != nil || total == 0 {
			continue
		}
		out[m.dir] = [2]uint64{total, avail}
	}
	return out
}

// pids lists the numeric entries of /proc in ascending order.
func (s *procSource) pids() []int {
	names, err := s.fs.ReadDir("proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil && pid > 0 {
			out = append(out, pid)
		}
	}
	return out
}

// processes reads every process's stat and open descriptors; processes
// of one name get Windows' #N suffixes in pid order.
func (s *procSource) processes(c *procSnap) {
	pids := s.pids()
	stats := make([]procPidStat, 0, len(pids))
	names := make([]string, 0, len(pids))
	var fds []int64
	for _, pid := range pids {
		dir := "proc/" + strconv.Itoa(pid)
		b, err := s.fs.ReadFile(dir + "/stat")
		if err != nil {
			continue // the process ended
		}
		st, ok := parsePidStat(b)
		if !ok {
			c.malform++
			continue
		}
		n := int64(-1)
		if entries, err := s.fs.ReadDir(dir + "/fd"); err == nil {
			n = int64(len(entries))
		}
		stats, names, fds = append(stats, st), append(names, st.comm), append(fds, n)
	}
	names = instanceNames(names)
	c.procs = make(map[string]procPidStat, len(names))
	c.fds = make(map[string]uint64, len(names))
	for i, n := range names {
		c.procs[n] = stats[i]
		if fds[i] >= 0 {
			c.fds[n] = uint64(fds[i])
		}
	}
}
