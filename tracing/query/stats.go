package query

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"crmwatch/tracing"
)

// Defaults for StatsOptions (the one place they are set).
const (
	DefaultChunkBytes       = 64 << 20
	DefaultTop              = 10
	DefaultMaxRequestDetail = 400_000
	maxErrorGroups          = 10_000
)

// StatsOptions tune Compute; zero fields take the defaults above.
type StatsOptions struct {
	// Workers is the number of files/chunks read at once (default
	// GOMAXPROCS).
	Workers int
	// ChunkBytes splits files larger than this at record boundaries so one
	// big file still uses every core (default 64 MiB).
	ChunkBytes int64
	// Top is the length of slowest_requests and top_errors (default 10).
	Top int
	// MaxRequestDetail caps how many requests get first/last/record counts
	// kept (about 56 bytes each) across all workers (default 400,000,
	// ~22 MB). Requests beyond it are still counted exactly in Requests
	// (a 16-byte set entry each) and reported in RequestsWithoutDetail.
	MaxRequestDetail int
	// Location is the zone trace timestamps are read in (default UTC).
	Location *time.Location
	// Stdin is read for the input "-".
	Stdin io.Reader
	// Progress, when set, is advanced by the bytes read.
	Progress *atomic.Int64
}

func (o *StatsOptions) setDefaults() {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = DefaultChunkBytes
	}
	if o.Top <= 0 {
		o.Top = DefaultTop
	}
	if o.MaxRequestDetail <= 0 {
		o.MaxRequestDetail = DefaultMaxRequestDetail
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
}

// Stats is the summary `crmwatch trace stats` prints.
type Stats struct {
	Files                 int              `json:"files"`
	Bytes                 int64            `json:"bytes"`
	Records               int64            `json:"records"`
	Malformed             int64            `json:"malformed"`
	Truncated             int64            `json:"truncated"`
	ByLevel               map[string]int64 `json:"by_level"`
	ByCategory            map[string]int64 `json:"by_category"`
	ByOrganization        map[string]int64 `json:"by_organization"`
	ByProcess             map[string]int64 `json:"by_process"`
	Requests              int64            `json:"requests"`
	RequestsWithoutDetail int64            `json:"requests_without_detail,omitempty"`
	First                 time.Time        `json:"first,omitzero"`
	Last                  time.Time        `json:"last,omitzero"`
	SlowestRequests       []RequestSpan    `json:"slowest_requests"`
	TopErrors             []ErrorGroup     `json:"top_errors"`
	// Rejected are the inputs that are not trace files (not counted in
	// Files); the command names each and exits non-zero.
	Rejected []Rejected `json:"rejected,omitempty"`
}

// RequestSpan is one request id's extent: its first and last records.
type RequestSpan struct {
	ReqID      string    `json:"req_id"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
	DurationMS float64   `json:"duration_ms"`
	Records    int64     `json:"records"`
	Errors     int64     `json:"errors"`
}

// ErrorGroup counts Error records with the same category, operation and
// message shape (numbers and GUIDs replaced).
type ErrorGroup struct {
	Category  string    `json:"category,omitempty"`
	Operation string    `json:"operation,omitempty"`
	Message   string    `json:"message"`
	Count     int64     `json:"count"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
}

// job is one file or one chunk of a file.
type job struct {
	in         Input
	start, end int64 // end < 0: to EOF
}

// Compute reads every input (in parallel, big files in chunks split at
// record boundaries) and returns the merged statistics.
func Compute(ctx context.Context, inputs []Input, opts StatsOptions) (*Stats, error) {
	opts.setDefaults()
	jobs, err := planJobs(inputs, opts.ChunkBytes)
	if err != nil {
		return nil, err
	}
	perWorker := max(opts.MaxRequestDetail/opts.Workers, 1)
	parts := make([]*partial, opts.Workers)
	errs := make([]error, opts.Workers)
	ch := make(chan job)
	var wg sync.WaitGroup
	for w := range parts {
		parts[w] = newPartial(perWorker)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				if errs[w] != nil {
					continue // drain
				}
				errs[w] = parts[w].run(ctx, j, &opts)
			}
		}()
	}
	for _, j := range jobs {
		select {
		case ch <- j:
		case <-ctx.Done():
		}
	}
	close(ch)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("trace stats: %w", err)
	}
	st := merge(parts, opts.Top)
	st.Files = len(inputs) - len(st.Rejected)
	return st, nil
}

// run reads one job into p.
func (p *partial) run(ctx context.Context, j job, opts *StatsOptions) error {
	rc, err := j.in.Open(opts.Stdin)
	if err != nil {
		return err
	}
	defer rc.Close()
	var src io.Reader = rc
	if f, ok := rc.(*os.File); ok && j.end >= 0 {
		src = io.NewSectionReader(f, j.start, j.end-j.start)
	}
	ro := tracing.ReaderOptions{Location: opts.Location, Offset: j.start, Transient: true}
	if j.start == 0 { // later chunks start at a record head by construction
		ro.NoHeadWithin = NotTraceLines
	}
	rd := tracing.NewReaderOptions(src, ro)
	var rec tracing.Record
	var reported int64
	for n := 0; ; n++ {
		err := rd.NextInto(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if r, ok := rejected(j.in, err); ok {
			p.rejected = append(p.rejected, r)
			return nil
		}
		if err != nil {
			return fmt.Errorf("trace stats: read %s at byte %d: %w", j.in.Name, rd.Stats().Bytes+j.start, err)
		}
		p.add(&rec)
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return nil // Compute reports the cancellation once
			}
			if opts.Progress != nil {
				b := rd.Stats().Bytes
				opts.Progress.Add(b - reported)
				reported = b
			}
		}
	}
	rs := rd.Stats()
	if opts.Progress != nil {
		opts.Progress.Add(rs.Bytes - reported)
	}
	p.bytes += rs.Bytes
	p.malformed += rs.Malformed
	p.truncated += rs.Truncated
	return nil
}

// planJobs splits inputs into jobs; files above chunk bytes are cut where a
// record starts so every chunk parses on its own.
func planJobs(inputs []Input, chunk int64) ([]job, error) {
	var jobs []job
	for _, in := range inputs {
		if in.Name == Stdin || in.Size <= chunk {
			jobs = append(jobs, job{in: in, end: -1})
			continue
		}
		f, err := os.Open(in.Name)
		if err != nil {
			return nil, fmt.Errorf("trace stats: %w", err)
		}
		cuts := []int64{0}
		for at := chunk; at < in.Size; at += chunk {
			c, err := nextRecordStart(f, max(at, cuts[len(cuts)-1]+1), in.Size)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("trace stats: split %s: %w", in.Name, err)
			}
			if c < in.Size && c > cuts[len(cuts)-1] {
				cuts = append(cuts, c)
			}
		}
		f.Close()
		cuts = append(cuts, in.Size)
		for k := 0; k+1 < len(cuts); k++ {
			jobs = append(jobs, job{in: in, start: cuts[k], end: cuts[k+1]})
		}
	}
	return jobs, nil
}

// nextRecordStart returns the offset of the first record head that begins
// at or after from (size if there is none).
func nextRecordStart(f *os.File, from, size int64) (int64, error) {
	// Start one byte early: if it is a line end, from itself starts a line.
	pos := from - 1
	br := bufio.NewReaderSize(io.NewSectionReader(f, pos, size-pos), 64<<10)
	first := true
	for {
		line, err := br.ReadSlice('\n')
		lineStart := pos
		pos += int64(len(line))
		head := !first && tracing.IsRecordStart(trimEOL(line))
		first = false
		for errors.Is(err, bufio.ErrBufferFull) { // long line: skip the rest
			line, err = br.ReadSlice('\n')
			pos += int64(len(line))
		}
		if head {
			return lineStart, nil
		}
		if errors.Is(err, io.EOF) {
			return size, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// merge folds the workers' partials into the final Stats.
func merge(parts []*partial, top int) *Stats {
	all := parts[0]
	for _, p := range parts[1:] {
		all.mergeFrom(p)
	}
	return all.result(top)
}

func sortedTop[T any](items []T, top int, less func(a, b T) int) []T {
	slices.SortFunc(items, less)
	if len(items) > top {
		items = items[:top]
	}
	return items
}
