package perfcounters

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// Parsers for the /proc files the Linux source reads. Each takes the
// file's bytes, skips lines it cannot read (counting them) and never
// panics; FuzzProcParsers feeds them arbitrary input.

// cpuTimes are the jiffies of one /proc/stat cpu line.
type cpuTimes struct {
	user, nice, system, idle, iowait, irq, softirq, steal uint64
}

func (c cpuTimes) total() uint64 {
	return c.user + c.nice + c.system + c.idle + c.iowait + c.irq + c.softirq + c.steal
}

// statFile is /proc/stat: per-CPU times ("" is the total), context
// switches and runnable threads.
type statFile struct {
	cpus         map[string]cpuTimes
	ctxt         uint64
	procsRunning uint64
}

func parseStat(b []byte) (statFile, int) {
	st := statFile{cpus: map[string]cpuTimes{}}
	bad := 0
	eachLine(b, func(f []string) {
		switch {
		case strings.HasPrefix(f[0], "cpu"):
			if len(f) < 5 {
				bad++
				return
			}
			v := nums(f[1:], 8)
			st.cpus[strings.TrimPrefix(f[0], "cpu")] = cpuTimes{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}
		case f[0] == "ctxt" && len(f) == 2:
			st.ctxt = num(f[1])
		case f[0] == "procs_running" && len(f) == 2:
			st.procsRunning = num(f[1])
		}
	})
	return st, bad
}

// parseMeminfo returns /proc/meminfo in bytes ("MemAvailable" → …).
func parseMeminfo(b []byte) (map[string]uint64, int) {
	out := map[string]uint64{}
	bad := 0
	eachLine(b, func(f []string) {
		if len(f) < 2 || !strings.HasSuffix(f[0], ":") {
			bad++
			return
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			bad++
			return
		}
		if len(f) == 3 && f[2] == "kB" {
			v *= 1024
		}
		out[strings.TrimSuffix(f[0], ":")] = v
	})
	return out, bad
}

// netDev is one /proc/net/dev line.
type netDev struct {
	rxBytes, rxPackets, rxErrs, rxDrop uint64
	txBytes, txPackets, txErrs, txDrop uint64
}

func parseNetDev(b []byte) (map[string]netDev, int) {
	out := map[string]netDev{}
	bad := 0
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || strings.Contains(name, "|") {
			continue // the two header lines
		}
		f := strings.Fields(rest)
		if len(f) < 16 {
			bad++
			continue
		}
		v := nums(f, 16)
		out[strings.TrimSpace(name)] = netDev{v[0], v[1], v[2], v[3], v[8], v[9], v[10], v[11]}
	}
	return out, bad
}

// diskStat is one /proc/diskstats line (fields 4–14).
type diskStat struct {
	reads, readSectors, readMS    uint64
	writes, writeSectors, writeMS uint64
	inFlight, ioMS, weightedMS    uint64
}

func parseDiskstats(b []byte) (map[string]diskStat, int) {
	out := map[string]diskStat{}
	bad := 0
	eachLine(b, func(f []string) {
		if len(f) < 14 {
			bad++
			return
		}
		v := nums(f[3:], 11)
		// v[1] and v[5] are merged requests, which Windows does not count.
		out[f[2]] = diskStat{reads: v[0], readSectors: v[2], readMS: v[3],
			writes: v[4], writeSectors: v[6], writeMS: v[7],
			inFlight: v[8], ioMS: v[9], weightedMS: v[10]}
	})
	return out, bad
}

// parseSNMP returns the Tcp: section of /proc/net/snmp by field name.
func parseSNMP(b []byte, section string) (map[string]uint64, int) {
	var names []string
	out := map[string]uint64{}
	bad := 0
	eachLine(b, func(f []string) {
		if f[0] != section+":" {
			return
		}
		if names == nil {
			names = f[1:]
			return
		}
		if len(f)-1 != len(names) {
			bad++
			return
		}
		for i, n := range names {
			// MaxConn is -1 on Linux; a negative value is not a counter.
			if v, err := strconv.ParseUint(f[i+1], 10, 64); err == nil {
				out[n] = v
			}
		}
	})
	return out, bad
}

// mount is one /proc/mounts line worth reporting as a LogicalDisk.
type mount struct{ dev, dir, fstype string }

// diskFSTypes are the file systems that hold data (not proc, tmpfs, …).
var diskFSTypes = map[string]bool{
	"ext2": true, "ext3": true, "ext4": true, "xfs": true, "btrfs": true, "zfs": true, "vfat": true,
	"exfat": true, "ntfs": true, "ntfs3": true, "f2fs": true, "jfs": true, "reiserfs": true,
	"overlay": true, "nfs": true, "nfs4": true, "cifs": true, "smb3": true, "fuseblk": true,
}

func parseMounts(b []byte) ([]mount, int) {
	var out []mount
	seen := map[string]bool{}
	bad := 0
	eachLine(b, func(f []string) {
		if len(f) < 3 {
			bad++
			return
		}
		dir := unescapeMount(f[1])
		if !diskFSTypes[f[2]] || seen[dir] {
			return
		}
		seen[dir] = true
		out = append(out, mount{dev: f[0], dir: dir, fstype: f[2]})
	})
	return out, bad
}

// unescapeMount undoes the octal escapes of /proc/mounts (\040 is a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// procPidStat is what the Process object needs from /proc/PID/stat.
type procPidStat struct {
	comm    string
	threads uint64
	rssPage uint64
}

// parsePidStat reads /proc/PID/stat, whose comm field may hold spaces and
// parentheses: it is everything between the first '(' and the last ')'.
func parsePidStat(b []byte) (procPidStat, bool) {
	open, closeAt := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || closeAt < open {
		return procPidStat{}, false
	}
	f := strings.Fields(string(b[closeAt+1:]))
	// After comm: state(3) … num_threads is field 20, rss field 24.
	if len(f) < 22 {
		return procPidStat{}, false
	}
	return procPidStat{comm: string(b[open+1 : closeAt]), threads: num(f[17]), rssPage: num(f[21])}, true
}

func eachLine(b []byte, fn func(fields []string)) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 0 {
			fn(f)
		}
	}
}

// nums parses up to n unsigned numbers; missing or bad ones are 0.
func nums(f []string, n int) []uint64 {
	out := make([]uint64, n)
	for i := 0; i < n && i < len(f); i++ {
		out[i] = num(f[i])
	}
	return out
}

func num(s string) uint64 {
	v, _ := strconv.ParseUint(s, 10, 64)
	return v
}
