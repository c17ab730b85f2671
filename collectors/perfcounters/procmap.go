package perfcounters

import "os"

// procCounter computes one Windows counter from /proc snapshots: instance
// name → value ("" for single-instance objects). rate counters need the
// previous snapshot and the seconds between the two.
type procCounter struct {
	rate bool
	fn   func(cur, prev *procSnap, dt float64) map[string]float64
}

// procCounters maps lower-case object and counter names to their Linux
// equivalents; only counters whose meaning matches are listed (the
// collector README has the table with the sources of each).
var procCounters = map[string]map[string]procCounter{
	"processor": {
		"% processor time":  cpuPercent(func(d cpuTimes) uint64 { return d.total() - d.idle - d.iowait }),
		"% user time":       cpuPercent(func(d cpuTimes) uint64 { return d.user + d.nice }),
		"% privileged time": cpuPercent(func(d cpuTimes) uint64 { return d.system + d.irq + d.softirq }),
		"% interrupt time":  cpuPercent(func(d cpuTimes) uint64 { return d.irq }),
		"% dpc time":        cpuPercent(func(d cpuTimes) uint64 { return d.softirq }),
		"% idle time":       cpuPercent(func(d cpuTimes) uint64 { return d.idle + d.iowait }),
	},
	"system": {
		"processor queue length": gauge(func(c *procSnap) float64 {
			cpus := float64(len(c.stat.cpus) - 1)
			return max(float64(c.stat.procsRunning)-max(cpus, 1), 0)
		}),
		"context switches/sec": {rate: true, fn: func(cur, prev *procSnap, dt float64) map[string]float64 {
			return one(perSec(cur.stat.ctxt, prev.stat.ctxt, dt))
		}},
		"system up time": gauge(func(c *procSnap) float64 { return c.uptime }),
		"processes":      gauge(func(c *procSnap) float64 { return float64(c.nprocs) }),
	},
	"memory": {
		"available mbytes": memGauge(func(m map[string]uint64) (float64, bool) { v, ok := m["MemAvailable"]; return float64(v) / mib, ok }),
		"available bytes":  memGauge(func(m map[string]uint64) (float64, bool) { v, ok := m["MemAvailable"]; return float64(v), ok }),
		"committed bytes":  memGauge(func(m map[string]uint64) (float64, bool) { v, ok := m["Committed_AS"]; return float64(v), ok }),
		"commit limit": memGauge(func(m map[string]uint64) (float64, bool) {
			return float64(m["MemTotal"] + m["SwapTotal"]), m["MemTotal"] > 0
		}),
		"cache bytes": memGauge(func(m map[string]uint64) (float64, bool) { v, ok := m["Cached"]; return float64(v), ok }),
		// Windows' commit limit is RAM plus paging files; Linux's own
		// CommitLimit depends on the overcommit policy, so RAM plus swap
		// is the comparable denominator.
		"% committed bytes in use": memGauge(func(m map[string]uint64) (float64, bool) {
			lim := m["MemTotal"] + m["SwapTotal"]
			return 100 * float64(m["Committed_AS"]) / float64(lim), lim > 0
		}),
	},
	"paging file": {
		"% usage": {fn: func(c, _ *procSnap, _ float64) map[string]float64 {
			tot := c.mem["SwapTotal"]
			if tot == 0 {
				return nil
			}
			return map[string]float64{"_Total": 100 * float64(tot-min(c.mem["SwapFree"], tot)) / float64(tot)}
		}},
	},
	"logicaldisk": {
		"% free space": {fn: func(c, _ *procSnap, _ float64) map[string]float64 {
			return fsValues(c.fs, func(total, avail uint64) float64 { return 100 * float64(avail) / float64(total) })
		}},
		"free megabytes": {fn: func(c, _ *procSnap, _ float64) map[string]float64 {
			return fsValues(c.fs, func(_, avail uint64) float64 { return float64(avail) / mib })
		}},
	},
	"physicaldisk": {
		"disk reads/sec":            diskRate(func(d diskStat) uint64 { return d.reads }, 1),
		"disk writes/sec":           diskRate(func(d diskStat) uint64 { return d.writes }, 1),
		"disk transfers/sec":        diskRate(func(d diskStat) uint64 { return d.reads + d.writes }, 1),
		"disk read bytes/sec":       diskRate(func(d diskStat) uint64 { return d.readSectors }, 512),
		"disk write bytes/sec":      diskRate(func(d diskStat) uint64 { return d.writeSectors }, 512),
		"disk bytes/sec":            diskRate(func(d diskStat) uint64 { return d.readSectors + d.writeSectors }, 512),
		"avg. disk sec/read":        diskLatency(func(d diskStat) (uint64, uint64) { return d.readMS, d.reads }),
		"avg. disk sec/write":       diskLatency(func(d diskStat) (uint64, uint64) { return d.writeMS, d.writes }),
		"avg. disk sec/transfer":    diskLatency(func(d diskStat) (uint64, uint64) { return d.readMS + d.writeMS, d.reads + d.writes }),
		"avg. disk queue length":    diskRate(func(d diskStat) uint64 { return d.weightedMS }, 0.001),
		"% idle time":               diskIdle(),
		"current disk queue length": {fn: diskGauge(func(d diskStat) float64 { return float64(d.inFlight) })},
	},
	"network interface": {
		"bytes received/sec":         netRate(func(n netDev) uint64 { return n.rxBytes }),
		"bytes sent/sec":             netRate(func(n netDev) uint64 { return n.txBytes }),
		"bytes total/sec":            netRate(func(n netDev) uint64 { return n.rxBytes + n.txBytes }),
		"packets received/sec":       netRate(func(n netDev) uint64 { return n.rxPackets }),
		"packets sent/sec":           netRate(func(n netDev) uint64 { return n.txPackets }),
		"packets/sec":                netRate(func(n netDev) uint64 { return n.rxPackets + n.txPackets }),
		"packets received errors":    netGauge(func(n netDev) uint64 { return n.rxErrs }),
		"packets outbound errors":    netGauge(func(n netDev) uint64 { return n.txErrs }),
		"packets received discarded": netGauge(func(n netDev) uint64 { return n.rxDrop }),
		"packets outbound discarded": netGauge(func(n netDev) uint64 { return n.txDrop }),
	},
	"tcpv4": {
		// RFC 1213 tcpAttemptFails, tcpCurrEstab …: the same MIB
		// counters Windows' TCPv4 object reports.
		"connections established":    tcpGauge("CurrEstab"),
		"connection failures":        tcpGauge("AttemptFails"),
		"connections active":         tcpGauge("ActiveOpens"),
		"connections passive":        tcpGauge("PassiveOpens"),
		"connections reset":          tcpGauge("EstabResets"),
		"segments retransmitted/sec": tcpRate("RetransSegs"),
		"segments received/sec":      tcpRate("InSegs"),
		"segments sent/sec":          tcpRate("OutSegs"),
	},
	"process": {
		"thread count": procGauge(func(c *procSnap, n string) (float64, bool) { return float64(c.procs[n].threads), true }),
		"handle count": procGauge(func(c *procSnap, n string) (float64, bool) { v, ok := c.fds[n]; return float64(v), ok }),
		"working set": procGauge(func(c *procSnap, n string) (float64, bool) {
			return float64(c.procs[n].rssPage) * float64(pageSize), true
		}),
	},
}

const mib = 1 << 20

var pageSize = os.Getpagesize()

func one(v float64) map[string]float64 { return map[string]float64{"": v} }

func perSec(cur, prev uint64, dt float64) float64 {
	if cur < prev || dt <= 0 {
		return 0 // a counter reset (reboot, interface re-created)
	}
	return float64(cur-prev) / dt
}

func gauge(f func(*procSnap) float64) procCounter {
	return procCounter{fn: func(c, _ *procSnap, _ float64) map[string]float64 { return one(f(c)) }}
}

func memGauge(f func(map[string]uint64) (float64, bool)) procCounter {
	return procCounter{fn: func(c, _ *procSnap, _ float64) map[string]float64 {
		if v, ok := f(c.mem); ok {
			return one(v)
		}
		return nil
	}}
}

// cpuPercent is a share of CPU time between two snapshots; instances are
// "_Total" and the processor numbers, as on Windows.
func cpuPercent(part func(cpuTimes) uint64) procCounter {
	return procCounter{rate: true, fn: func(cur, prev *procSnap, _ float64) map[string]float64 {
		out := map[string]float64{}
		for id, c := range cur.stat.cpus {
			p, ok := prev.stat.cpus[id]
			if !ok || c.total() <= p.total() {
				continue
			}
			d := cpuTimes{c.user - p.user, c.nice - p.nice, c.system - p.system, c.idle - p.idle,
				c.iowait - p.iowait, c.irq - p.irq, c.softirq - p.softirq, c.steal - p.steal}
			if c.idle < p.idle || c.iowait < p.iowait { // iowait may go backwards on Linux
				d.idle, d.iowait = max(c.idle, p.idle)-p.idle, 0
			}
			name := id
			if id == "" {
				name = "_Total"
			}
			out[name] = min(100, 100*float64(part(d))/float64(d.total()))
		}
		return out
	}}
}

func fsValues(fs map[string][2]uint64, f func(total, avail uint64) float64) map[string]float64 {
	out := make(map[string]float64, len(fs)+1)
	var tot, av uint64
	for dir, v := range fs {
		out[dir] = f(v[0], v[1])
		tot, av = tot+v[0], av+v[1]
	}
	if tot > 0 {
		out["_Total"] = f(tot, av)
	}
	return out
}

func diskRate(f func(diskStat) uint64, scale float64) procCounter {
	return procCounter{rate: true, fn: func(cur, prev *procSnap, dt float64) map[string]float64 {
		out := map[string]float64{}
		for n, d := range cur.disks {
			if p, ok := prev.disks[n]; ok {
				out[n] = perSec(f(d), f(p), dt) * scale
			}
		}
		return out
	}}
}

// diskLatency is milliseconds spent over operations done, in seconds.
func diskLatency(f func(diskStat) (ms, ops uint64)) procCounter {
	return procCounter{rate: true, fn: func(cur, prev *procSnap, _ float64) map[string]float64 {
		out := map[string]float64{}
		for n, d := range cur.disks {
			p, ok := prev.disks[n]
			if !ok {
				continue
			}
			ms, ops := f(d)
			pms, pops := f(p)
			if ops < pops || ms < pms {
				continue
			}
			out[n] = 0
			if ops > pops {
				out[n] = float64(ms-pms) / float64(ops-pops) / 1000
			}
		}
		return out
	}}
}

func diskIdle() procCounter {
	return procCounter{rate: true, fn: func(cur, prev *procSnap, dt float64) map[string]float64 {
		out := map[string]float64{}
		for n, d := range cur.disks {
			if p, ok := prev.disks[n]; ok {
				busy := perSec(d.ioMS, p.ioMS, dt) / 10 // ms per s → percent
				out[n] = max(0, 100-busy)
			}
		}
		return out
	}}
}

func diskGauge(f func(diskStat) float64) func(c, _ *procSnap, _ float64) map[string]float64 {
	return func(c, _ *procSnap, _ float64) map[string]float64 {
		out := map[string]float64{}
		for n, d := range c.disks {
			out[n] = f(d)
		}
		return out
	}
}

func netRate(f func(netDev) uint64) procCounter {
	return procCounter{rate: true, fn: func(cur, prev *procSnap, dt float64) map[string]float64 {
		out := map[string]float64{}
		for n, d := range cur.net {
			if p, ok := prev.net[n]; ok {
				out[n] = perSec(f(d), f(p), dt)
			}
		}
		return out
	}}
}

func netGauge(f func(netDev) uint64) procCounter {
	return procCounter{fn: func(c, _ *procSnap, _ float64) map[string]float64 {
		out := map[string]float64{}
		for n, d := range c.net {
			out[n] = float64(f(d))
		}
		return out
	}}
}

func tcpGauge(name string) procCounter {
	return procCounter{fn: func(c, _ *procSnap, _ float64) map[string]float64 {
		if v, ok := c.tcp[name]; ok {
			return one(float64(v))
		}
		return nil
	}}
}

func tcpRate(name string) procCounter {
	return procCounter{rate: true, fn: func(cur, prev *procSnap, dt float64) map[string]float64 {
		v, ok1 := cur.tcp[name]
		p, ok2 := prev.tcp[name]
		if !ok1 || !ok2 {
			return nil
		}
		return one(perSec(v, p, dt))
	}}
}

func procGauge(f func(c *procSnap, name string) (float64, bool)) procCounter {
	return procCounter{fn: func(c, _ *procSnap, _ float64) map[string]float64 {
		out := make(map[string]float64, len(c.procs))
		for n := range c.procs {
			if v, ok := f(c, n); ok {
				out[n] = v
			}
		}
		return out
	}}
}

// procCounterNames lists "\Object\Counter" for every mapped counter (the
// README table and a test keep in step with it).
func procCounterNames() []string {
	var out []string
	for obj, cs := range procCounters {
		for c := range cs {
			out = append(out, obj+`\`+c)
		}
	}
	return out
}
