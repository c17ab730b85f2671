package simulate

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// process is one traced application instance (a process + app domain) on a
// host. Its trace files are named
// {MACHINE}-{process}({pid}#{8-hex id})-{application}-{yyyyMMdd}-{seq}.log
// (reference §2.3, from a real CRM 2011 file name). CRM 4.0 naming is not
// documented anywhere (reference: NOT FOUND), so legacy hosts use the same
// form.
type process struct {
	kind    procKind
	info    procInfo
	pid     int
	id      string // 8 upper-case hex digits, new per process start
	threads []int  // managed thread ids this process traces from
	file    *traceFile
	date    string // yyyyMMdd of the open file
	seq     int
}

// traceFile is one open trace file.
type traceFile struct {
	path    string
	f       *os.File
	w       *bufio.Writer
	size    int64
	records int
}

const traceBufSize = 64 << 10

// name returns the file name for the given date and sequence number.
func (p *process) name(host, date string, seq int) string {
	return fmt.Sprintf("%s-%s(%d#%s)-%s-%s-%d.log", host, p.info.process, p.pid, p.id, p.info.app, date, seq)
}

// open creates the file for date/seq and writes its header block.
func (o *traceOutput) open(p *process, t time.Time, date string, seq int) error {
	path := filepath.Join(o.cfg.spec.TraceDir, p.name(o.cfg.spec.Name, date, seq))
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create trace file: %w (check the output folder is writable)", err)
	}
	tf := &traceFile{path: path, f: fh, w: bufio.NewWriterSize(fh, traceBufSize)}
	hdr := o.appendHeader(o.hdr[:0], filepath.Base(path), t)
	o.hdr = hdr
	if _, err := tf.w.Write(hdr); err != nil {
		fh.Close()
		return fmt.Errorf("write header of %s: %w", path, err)
	}
	tf.size = int64(len(hdr))
	p.file, p.date, p.seq = tf, date, seq
	o.mu.Lock()
	o.st.Files++
	o.st.Bytes += int64(len(hdr))
	o.mu.Unlock()
	o.cfg.log.Debug("trace file opened", "file", path)
	return nil
}

// closeFile flushes and closes p's open file, if any.
func (p *process) closeFile() error {
	if p.file == nil {
		return nil
	}
	tf := p.file
	p.file = nil
	return errors.Join(tf.w.Flush(), tf.f.Close())
}

// fileFor returns the file a record of n bytes at t goes to: a new file at
// the date change (sequence 1) or when the size limit would be passed
// (sequence N+1). A record larger than the limit still goes to a fresh file
// whole: a record is never split.
func (o *traceOutput) fileFor(p *process, t time.Time, n int) (*traceFile, error) {
	date := t.Format("20060102")
	switch {
	case p.file == nil:
		seq := 1
		if p.date == date {
			seq = p.seq + 1 // process restarted tracing on the same day
		}
		if err := o.open(p, t, date, seq); err != nil {
			return nil, err
		}
	case p.date != date:
		if err := p.closeFile(); err != nil {
			return nil, err
		}
		if err := o.open(p, t, date, 1); err != nil {
			return nil, err
		}
	case p.file.records > 0 && p.file.size+int64(n) > o.live.fileSize:
		if err := p.closeFile(); err != nil {
			return nil, err
		}
		o.cfg.log.Debug("trace file rolled over", "process", p.info.process, "seq", p.seq+1)
		if err := o.open(p, t, date, p.seq+1); err != nil {
			return nil, err
		}
	}
	return p.file, nil
}

// restart replaces p by a new process (a crash or recycle): new pid and id,
// so the next record opens a new file.
func (o *traceOutput) restart(p *process) error {
	err := p.closeFile()
	p.pid = o.newPID()
	p.id = fmt.Sprintf("%08X", o.r.Uint32())
	p.date, p.seq = "", 0
	return err
}

// newPID draws a Windows-like process id (a multiple of 4).
func (o *traceOutput) newPID() int { return 4 * (300 + o.r.IntN(16000)) }
