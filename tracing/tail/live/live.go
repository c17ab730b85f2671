// Package live is `crmwatch trace tail`: it prints CRM trace records as they
// are written, using the rotation-safe tailer without checkpoints and the
// same filters as `crmwatch trace grep`.
package live

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"crmwatch/tracing"
	"crmwatch/tracing/query"
	"crmwatch/tracing/tail"
)

// DefaultIdleFlush is the tailer's: a file's last record is printed this
// long after the file stopped growing.
const DefaultIdleFlush = tail.DefaultIdleFlush

// Options drive Run.
type Options struct {
	// Path is a trace folder (every file matching Pattern) or one file.
	Path    string
	Pattern string // default tail.DefaultPattern
	// Follow keeps printing new records until ctx ends, starting at the
	// current end of existing files; without it every record already
	// written is printed and Run returns.
	Follow   bool
	Filter   *query.Matcher // nil: every record
	Location *time.Location // zone of the trace timestamps; nil: UTC
	JSON     bool
	Out      io.Writer
	// IdleFlush is how long a file must be idle before its last record is
	// printed (Follow only); default DefaultIdleFlush.
	IdleFlush time.Duration
}

// Result counts what Run saw.
type Result struct{ Records, Matched, Malformed int64 }

// Run prints matching records until ctx ends (Follow) or every file was
// read once.
func Run(ctx context.Context, o Options) (Result, error) {
	dir, pattern, err := target(o.Path, o.Pattern)
	if err != nil {
		return Result{}, err
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.IdleFlush <= 0 {
		o.IdleFlush = DefaultIdleFlush
	}
	p := &printer{o: o, w: bufio.NewWriterSize(o.Out, 64<<10)}
	p.enc = json.NewEncoder(p.w)
	p.enc.SetEscapeHTML(false)
	t, err := tail.New(tail.Options{
		Dirs: []string{dir}, Pattern: pattern, StartsRecord: tracing.IsRecordStart, Handler: p.handle,
		StartAtEnd: o.Follow, ExitAtEOF: !o.Follow, PollInterval: 250 * time.Millisecond, IdleFlush: o.IdleFlush,
	})
	if err != nil {
		return Result{}, err
	}
	err = t.Run(ctx)
	if ferr := p.w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("write output: %w", ferr)
	}
	return p.res, err
}

// target turns a folder or a file into a folder and a pattern.
func target(path, pattern string) (dir, pat string, err error) {
	if pattern == "" {
		pattern = tail.DefaultPattern
	}
	if _, err := filepath.Match(pattern, "x"); err != nil {
		return "", "", fmt.Errorf("--pattern %q: %w", pattern, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", "", fmt.Errorf("trace tail %s: %w (give a trace folder or file)", path, err)
	}
	if fi.IsDir() {
		return path, pattern, nil
	}
	return filepath.Dir(path), globEscape(filepath.Base(path)), nil
}

// globEscape makes a file name match only itself (CRM names hold '#', '(').
func globEscape(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', '\\':
			out = append(out, '[', s[i], ']')
		default:
			out = append(out, s[i])
		}
	}
	return string(out)
}

type printer struct {
	o    Options
	w    *bufio.Writer
	enc  *json.Encoder
	res  Result
	last string // file of the last printed record
}

// handle prints each matching record of a batch; it returns only output
// errors, which end the command.
func (p *printer) handle(ctx context.Context, b tail.Batch) error {
	for _, r := range b.Records {
		p.res.Records++
		rec, err := tracing.ParseRecord(r.Data)
		p.res.Malformed += int64(len(rec.Malformed))
		if err != nil {
			continue // a fragment before the first head seen
		}
		rec.Offset, rec.Truncated = r.Offset, rec.Truncated || r.Truncated
		rec.Time = inZone(rec.Time, p.o.Location)
		if !p.o.Filter.Match(&rec) {
			continue
		}
		p.res.Matched++
		if err := p.print(b.Path, &rec); err != nil {
			return err
		}
	}
	if err := p.w.Flush(); err != nil { // a person is watching: no buffering across batches
		return fmt.Errorf("write output: %w", err)
	}
	return ctx.Err()
}

func (p *printer) print(file string, rec *tracing.Record) error {
	if p.o.JSON {
		return p.enc.Encode(query.JSONRecord{File: file, Record: rec})
	}
	if file != p.last {
		if _, err := fmt.Fprintf(p.w, "# file: %s\n", file); err != nil {
			return err
		}
		p.last = file
	}
	_, err := fmt.Fprintln(p.w, rec.Raw)
	return err
}

// inZone reads the wall-clock digits ParseRecord returns in UTC as time in
// loc: trace timestamps carry no zone.
func inZone(t time.Time, loc *time.Location) time.Time {
	if loc == time.UTC || t.IsZero() {
		return t
	}
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), loc)
}
