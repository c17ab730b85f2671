package query

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"crmwatch/tracing"
)

// Input is one trace stream named on the command line: a file or stdin.
type Input struct {
	Name string // path, or "-" for stdin
	Size int64  // bytes, or -1 when unknown (stdin)
}

// Stdin is the name that reads standard input.
const Stdin = "-"

// NotTraceLines is how many lines without a record head make an input "not
// a CRM trace file" for parse, grep, stats and export (a real trace file has
// its first record head after a header of a dozen lines).
const NotTraceLines = 1000

// Rejected is an input that is not a CRM trace file. The commands name each
// one and exit non-zero instead of reporting empty results as a success.
type Rejected struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// rejected reports whether err says in is not a trace, and how to say so.
func rejected(in Input, err error) (Rejected, bool) {
	var nt *tracing.NotTraceError
	if !errors.As(err, &nt) {
		return Rejected{}, false
	}
	return Rejected{File: in.Name, Reason: nt.Error()}, true
}

// ExpandInputs turns FILES arguments into inputs: a file as is, a directory
// as every *.log file directly inside it in name order (so rollover files
// -1.log, -2.log follow each other), and "-" as stdin.
func ExpandInputs(args []string) ([]Input, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("no trace files given: pass files, directories or - for stdin")
	}
	var out []Input
	for _, a := range args {
		if a == Stdin {
			out = append(out, Input{Name: Stdin, Size: -1})
			continue
		}
		fi, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("trace input %q: %w", a, err)
		}
		if !fi.IsDir() {
			out = append(out, Input{Name: a, Size: fi.Size()})
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, fmt.Errorf("trace directory %q: %w", a, err)
		}
		var names []string
		for _, e := range entries {
			if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".log") {
				names = append(names, e.Name())
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("trace directory %q holds no *.log files", a)
		}
		sort.Strings(names)
		for _, n := range names {
			p := filepath.Join(a, n)
			fi, err := os.Stat(p)
			if err != nil {
				return nil, fmt.Errorf("trace input %q: %w", p, err)
			}
			out = append(out, Input{Name: p, Size: fi.Size()})
		}
	}
	return out, nil
}

// Open opens the input; stdin is returned with a no-op Close.
func (in Input) Open(stdin io.Reader) (io.ReadCloser, error) {
	if in.Name == Stdin {
		return io.NopCloser(stdin), nil
	}
	f, err := os.Open(in.Name)
	if err != nil {
		return nil, fmt.Errorf("open trace file: %w", err)
	}
	return f, nil
}

// TotalSize sums the known sizes (for progress); stdin counts as 0.
func TotalSize(ins []Input) int64 {
	var n int64
	for _, in := range ins {
		n += max(in.Size, 0)
	}
	return n
}
