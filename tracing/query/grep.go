package query

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"crmwatch/tracing"
)

// ScanOptions drive Scan (trace parse and trace grep).
type ScanOptions struct {
	Filter *Matcher // nil: every record
	// JSON writes one JSON object per record; otherwise the record's own
	// trace text is written, with a `# file: NAME` line before the first
	// record of each input when there are several (a `#` line is a header
	// line in the trace format, so the output still parses as a trace).
	JSON     bool
	Location *time.Location
	Stdin    io.Reader
	Progress *atomic.Int64
}

// JSONRecord is the JSON form of a record in parse/grep output.
type JSONRecord struct {
	File string `json:"file"`
	*tracing.Record
}

// ScanResult counts what Scan saw.
type ScanResult struct {
	Records, Matched, Malformed int64
	// Rejected are the inputs that are not trace files; the others were
	// read all the same.
	Rejected []Rejected
}

// Scan reads inputs in order and writes every matching record to w.
func Scan(ctx context.Context, inputs []Input, w io.Writer, opts ScanOptions) (ScanResult, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	var res ScanResult
	for _, in := range inputs {
		if err := scanOne(ctx, in, bw, enc, len(inputs) > 1, &opts, &res); err != nil {
			if r, ok := rejected(in, err); ok {
				res.Rejected = append(res.Rejected, r)
				continue
			}
			_ = bw.Flush()
			return res, err
		}
	}
	if err := bw.Flush(); err != nil {
		return res, fmt.Errorf("write output: %w", err)
	}
	return res, nil
}

func scanOne(ctx context.Context, in Input, bw *bufio.Writer, enc *json.Encoder, many bool, opts *ScanOptions, res *ScanResult) error {
	rc, err := in.Open(opts.Stdin)
	if err != nil {
		return err
	}
	defer rc.Close()
	rd := tracing.NewReaderOptions(rc, tracing.ReaderOptions{Location: opts.Location, NoHeadWithin: NotTraceLines})
	var rec tracing.Record
	var reported int64
	named := false
	for n := 0; ; n++ {
		err := rd.NextInto(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if _, ok := rejected(in, err); ok {
			return err
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", in.Name, err)
		}
		res.Records++
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if opts.Progress != nil {
				b := rd.Stats().Bytes
				opts.Progress.Add(b - reported)
				reported = b
			}
		}
		if !opts.Filter.Match(&rec) {
			continue
		}
		res.Matched++
		if opts.JSON {
			if err := enc.Encode(JSONRecord{File: in.Name, Record: &rec}); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			continue
		}
		if many && !named {
			fmt.Fprintf(bw, "# file: %s\n", in.Name)
			named = true
		}
		bw.WriteString(rec.Raw)
		if err := bw.WriteByte('\n'); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	st := rd.Stats()
	res.Malformed += st.Malformed
	if opts.Progress != nil {
		opts.Progress.Add(st.Bytes - reported)
	}
	return nil
}
