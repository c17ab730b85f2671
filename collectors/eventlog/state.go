package eventlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// writeAtomic replaces path with data so a crash leaves the old or the new
// content, never half of one.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// bookmarkPath is where a channel's bookmark is kept; the channel name
// ("Microsoft-Windows-…/Operational") becomes a file name.
func bookmarkPath(dir, channel string) string {
	r := strings.NewReplacer("/", "_", `\`, "_", ":", "_", " ", "_")
	return filepath.Join(dir, "bookmark-"+r.Replace(channel)+".xml")
}

func loadBookmark(dir, channel string) (string, error) {
	if dir == "" {
		return "", nil
	}
	b, err := os.ReadFile(bookmarkPath(dir, channel))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return string(b), err
}

func saveBookmark(dir, channel, bookmark string) error {
	if dir == "" || bookmark == "" {
		return nil
	}
	if err := writeAtomic(bookmarkPath(dir, channel), []byte(bookmark)); err != nil {
		return fmt.Errorf("save bookmark of %s: %w", channel, err)
	}
	return nil
}

// importState is what the drop folder's import remembers in
// imported.json: the files imported (by content hash, whatever their
// name) and, for a file whose import was interrupted, how many of its
// records the centre acknowledged.
type importState struct {
	Imported map[string]importedFile `json:"imported"`
	Partial  map[string]int          `json:"partial,omitempty"`
}

type importedFile struct {
	Name    string `json:"name"`
	Records int    `json:"records"`
	Failed  string `json:"failed,omitempty"`
	Seq     int64  `json:"seq"`
}

// maxImported bounds the remembered files; the oldest are forgotten (a
// file dropped again after 10,000 others is imported again).
const maxImported = 10000

func loadImportState(dir string) (*importState, error) {
	st := &importState{Imported: map[string]importedFile{}, Partial: map[string]int{}}
	if dir == "" {
		return st, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "imported.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to import every file in the drop folder again)", filepath.Join(dir, "imported.json"), err)
	}
	if st.Imported == nil {
		st.Imported = map[string]importedFile{}
	}
	if st.Partial == nil {
		st.Partial = map[string]int{}
	}
	return st, nil
}

func (s *importState) save(dir string) error {
	if dir == "" {
		return nil
	}
	for len(s.Imported) > maxImported {
		var oldest string
		for h, f := range s.Imported {
			if oldest == "" || f.Seq < s.Imported[oldest].Seq {
				oldest = h
			}
		}
		delete(s.Imported, oldest)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, "imported.json"), b)
}

func (s *importState) nextSeq() int64 {
	var m int64
	for _, f := range s.Imported {
		m = max(m, f.Seq)
	}
	return m + 1
}
