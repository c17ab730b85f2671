package eventlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File formats ReadFile recognises.
const (
	FormatEVTX = "evtx"
	FormatXML  = "xml"
)

// FileStats say what reading one file found.
type FileStats struct {
	Format string `json:"format"`
	EVTXStats
}

// ReadFile decodes an EVTX file (recognised by its ElfFile header,
// whatever its name) or a file of rendered event XML, calling fn with each
// record in file order. Records that are malformed, and the corrupt chunks
// and records of an EVTX file, are counted and skipped. The error is the
// file's (cannot be opened or read, broken XML after the records already
// handed over) or fn's.
func ReadFile(path string, fn func(Record) error) (FileStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileStats{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return FileStats{}, err
	}
	if fi.IsDir() {
		return FileStats{}, fmt.Errorf("%s is a directory", path)
	}
	head := make([]byte, len(evtxHeaderMagic))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return FileStats{}, err
	}
	if IsEVTX(head[:n]) {
		st, err := ReadEVTX(f, fi.Size(), fn)
		return FileStats{Format: FormatEVTX, EVTXStats: st}, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return FileStats{}, err
	}
	st := FileStats{Format: FormatXML}
	d := NewXMLDecoder(f)
	for {
		r, err := d.Next()
		switch {
		case err == io.EOF:
			if st.Records == 0 && st.Malformed == 0 {
				return st, fmt.Errorf("%s: neither an EVTX file nor event XML (no <Event> element)", path)
			}
			return st, nil
		case errors.Is(err, ErrMalformed):
			st.Malformed++
			continue
		case err != nil:
			return st, fmt.Errorf("%s: %w", path, err)
		}
		st.Records++
		if err := fn(r); err != nil {
			return st, err
		}
	}
}

// IsEventFile reports whether a name looks like an exported log:
// *.evtx or *.xml (case-insensitive).
func IsEventFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".evtx" || ext == ".xml"
}

// ExpandPaths turns command-line arguments into files: a directory stands
// for the *.evtx and *.xml files in it, in name order. Arguments that do
// not exist or cannot be listed come back in problems, each saying what is
// wrong.
func ExpandPaths(args []string) (files []string, problems []error) {
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", a, unwrapPath(err)))
			continue
		}
		if !fi.IsDir() {
			files = append(files, a)
			continue
		}
		ents, err := os.ReadDir(a)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", a, unwrapPath(err)))
			continue
		}
		var in []string
		for _, e := range ents {
			if !e.IsDir() && IsEventFile(e.Name()) {
				in = append(in, filepath.Join(a, e.Name()))
			}
		}
		if len(in) == 0 {
			problems = append(problems, fmt.Errorf("%s: directory holds no *.evtx or *.xml files", a))
		}
		slices.Sort(in)
		files = append(files, in...)
	}
	return files, problems
}

// unwrapPath drops the *PathError's own path (the caller names it).
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
