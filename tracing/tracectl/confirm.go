package tracectl

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"crmwatch/tracing"
	"crmwatch/tracing/settings"
)

// pendingConfirm waits for CRM to show a setting took effect: a trace
// file that was not there when the values were written and whose
// `# Categories:` header is the setting's categories (reference §3.1,
// step 4 of the remote toggle).
type pendingConfirm struct {
	setting *settings.Setting
	before  map[string]bool // *.log names present at apply time
	until   time.Time
}

// headerBytes is how much of a file the header check reads; the header
// block is ~300 bytes.
const headerBytes = 4096

func (c *Controller) startConfirm(_ context.Context, s *settings.Setting) {
	c.confirm = nil
	if c.o.TraceDir == "" || !s.Enabled {
		return
	}
	before := map[string]bool{}
	for _, name := range logNames(c.o.TraceDir) {
		before[name] = true
	}
	c.confirm = &pendingConfirm{setting: s, before: before, until: c.o.Now().Add(c.o.ConfirmWithin)}
}

// checkConfirm looks for the confirming file and, once found, sends the
// acknowledgement again with it.
func (c *Controller) checkConfirm() {
	p := c.confirm
	if p == nil {
		return
	}
	if c.st.Setting == nil || c.st.Setting.ID != p.setting.ID || c.st.Ack.State != settings.StateApplied {
		c.confirm = nil
		return
	}
	for _, name := range logNames(c.o.TraceDir) {
		if p.before[name] {
			continue
		}
		h, ok := readHeader(filepath.Join(c.o.TraceDir, name))
		if ok && strings.EqualFold(strings.TrimSpace(h.Categories), p.setting.Categories) {
			c.confirm = nil
			c.st.Ack.Confirmed = &settings.Confirmation{File: name, At: c.o.Now().UTC()}
			c.ackDirty = true
			c.save()
			c.log.Info("trace setting confirmed by a new trace file", "setting", p.setting.ID, "file", name)
			return
		}
	}
	if c.o.Now().After(p.until) {
		c.confirm = nil
		c.log.Info("no new trace file showed the setting yet; CRM starts one when it next traces", "setting", p.setting.ID, "waited", c.o.ConfirmWithin)
	}
}

func logNames(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".log") {
			out = append(out, e.Name())
		}
	}
	return out
}

// readHeader reads a file's header block; ok is false until the file has
// one (CRM may have created it and not written yet).
func readHeader(path string) (tracing.Header, bool) {
	f, err := os.Open(path)
	if err != nil {
		return tracing.Header{}, false
	}
	defer f.Close()
	buf := make([]byte, headerBytes)
	n, _ := io.ReadFull(f, buf)
	h := tracing.ParseHeader(buf[:n])
	return h, h.Categories != ""
}
