package packs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"crmwatch/rules"
)

// maxFileSize bounds one pack file; packs are text written by people.
const maxFileSize = 8 << 20

// Sub-directories of a pack and the file kind each holds. tests/ holds
// unit tests (crmwatch pack test) and is not part of the loaded pack.
var packDirs = []struct {
	dir  string
	kind fileKind
}{
	{"rules", kindRulesFile},
	{"collect", kindCollectFile},
	{"dashboards", kindDashboardsFile},
	{"reports", kindReportsFile},
}

// LoadDir loads the pack in directory dir.
func LoadDir(dir string) (*Pack, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, Problems{{File: dir, Message: fmt.Sprintf("cannot read pack directory: %v", err)}}
	}
	if !info.IsDir() {
		return nil, Problems{{File: dir, Message: "not a directory; a pack is a directory with pack.yaml"}}
	}
	return Load(os.DirFS(dir), dir)
}

// Load loads and validates the pack at the root of fsys. label prefixes
// file names in problems. On failure the error is Problems listing every
// problem found; Load never panics on bad input.
func Load(fsys fs.FS, label string) (p *Pack, err error) {
	l := &loader{fsys: fsys, label: label, pack: &Pack{Dir: label}}
	defer func() {
		// Defence in depth: a defect in a decoder must not take down the
		// server that reloads packs.
		if r := recover(); r != nil {
			p, err = nil, Problems{{File: label, Message: fmt.Sprintf("internal error while loading (please report): %v", r)}}
		}
	}()
	l.load()
	if err := l.problems.err(); err != nil {
		return nil, err
	}
	return l.pack, nil
}

type loader struct {
	fsys     fs.FS
	label    string
	pack     *Pack
	params   Params
	problems problemList
}

func (l *loader) file(name string) string {
	if l.label == "" {
		return name
	}
	return path.Join(filepathToSlash(l.label), name)
}

func filepathToSlash(s string) string { return strings.ReplaceAll(s, `\`, "/") }

func (l *loader) load() {
	// Keep going after a broken file: validate reports every problem of
	// every file in one run.
	if doc, res := l.read("pack.yaml", kindPackFile); doc != nil {
		l.decodePackFile(doc, res)
	}
	for _, d := range packDirs {
		names, err := fs.Glob(l.fsys, d.dir+"/*.yaml")
		if err != nil {
			l.problems.add(l.file(d.dir), position{}, "", "cannot list files: %v", err)
			continue
		}
		yml, _ := fs.Glob(l.fsys, d.dir+"/*.yml")
		for _, n := range yml {
			l.problems.add(l.file(n), position{}, "", "use the .yaml extension; .yml files are not loaded")
		}
		slices.Sort(names)
		for _, name := range names {
			if doc, res := l.read(name, d.kind); doc != nil {
				l.decodeFile(doc, d.kind, res)
			}
		}
	}
	l.check()
}

// read parses a file and checks it against the schema; nil means it could
// not be parsed (problems already recorded).
func (l *loader) read(name string, kind fileKind) (*document, schemaResult) {
	data, err := readLimited(l.fsys, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && name == "pack.yaml" {
			l.problems.add(l.file(name), position{}, "", "missing: every pack needs pack.yaml with its name and version")
			return nil, schemaResult{}
		}
		l.problems.add(l.file(name), position{}, "", "cannot read: %v", err)
		return nil, schemaResult{}
	}
	return readDocument(l.file(name), data, kind, &l.problems)
}

// readDocument parses data and checks it against the schema of kind.
func readDocument(file string, data []byte, kind fileKind, pl *problemList) (*document, schemaResult) {
	doc, err := parseDocument(file, data)
	if err != nil {
		pl.add(file, position{}, "", "%v", err)
		return nil, schemaResult{}
	}
	return doc, checkSchema(doc, kind, pl)
}

func readLimited(fsys fs.FS, name string) ([]byte, error) {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("file is %d bytes; pack files are limited to %d", st.Size(), maxFileSize)
	}
	return fs.ReadFile(fsys, name)
}

// decodeNode substitutes parameters into the node at ptr and decodes it
// strictly into v, recording problems at the node's position.
func (l *loader) decodeNode(doc *document, ptr string, v any) (*yaml.Node, bool) {
	n := nodeAt(doc.root, ptr)
	if n == nil {
		l.problems.add(doc.file, doc.at(ptr), ptr, "internal: value not found")
		return nil, false
	}
	s, err := substitute(n, l.params)
	if err != nil {
		pos := doc.at(ptr)
		if se, ok := err.(*substError); ok {
			pos = se.pos
		}
		l.problems.add(doc.file, pos, ptr, "%v", err)
		return n, false
	}
	if err := decodeStrict(s, v); err != nil {
		l.problems.add(doc.file, doc.at(ptr), ptr, "%v", err)
		return n, false
	}
	return n, true
}

// decodeStrict decodes a node rejecting unknown fields (the schema already
// did; this guards against the schema and the Go types drifting apart).
func decodeStrict(n *yaml.Node, v any) error {
	data, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	return dec.Decode(v)
}

type packFile struct {
	Format      string               `yaml:"format"`
	Name        string               `yaml:"name"`
	Version     string               `yaml:"version"`
	Description string               `yaml:"description"`
	Requires    []Requirement        `yaml:"requires"`
	Roles       []string             `yaml:"roles"`
	Parameters  map[string]Parameter `yaml:"parameters"`
	Collect     yaml.Node            `yaml:"collect"`
	Dashboards  yaml.Node            `yaml:"dashboards"`
	Reports     yaml.Node            `yaml:"reports"`
}

func (l *loader) decodePackFile(doc *document, res schemaResult) {
	if !res.ok("") {
		// Salvage the parameters so rule files can still be checked.
		if res.ok("/parameters") {
			var pf struct {
				Parameters map[string]Parameter `yaml:"parameters"`
			}
			if doc.body().Decode(&pf) == nil {
				l.pack.Parameters = pf.Parameters
				l.params = l.pack.DefaultParams()
			}
		}
		return
	}
	var pf packFile
	if err := decodeStrict(doc.body(), &pf); err != nil {
		l.problems.add(doc.file, position{}, "", "%v", err)
		return
	}
	p := l.pack
	p.Name, p.Description, p.Roles, p.Requires = pf.Name, pf.Description, pf.Roles, pf.Requires
	p.Parameters = pf.Parameters
	v, err := ParseVersion(pf.Version)
	if err != nil {
		l.problems.add(doc.file, doc.at("/version"), "/version", "%v", err)
	}
	p.Version = v
	for i, r := range pf.Requires {
		if _, err := ParseConstraint(r.Version); err != nil {
			ptr := fmt.Sprintf("/requires/%d/version", i)
			l.problems.add(doc.file, doc.at(ptr), ptr, "%v", err)
		}
	}
	l.params = p.DefaultParams()
	l.decodeFile(doc, kindPackFile, res)
}

// decodeFile decodes the list sections of a file into the pack.
func (l *loader) decodeFile(doc *document, kind fileKind, res schemaResult) {
	top, _ := doc.value.(map[string]any)
	decode := func(ptr string, v any) (*yaml.Node, bool) {
		if !res.ok(ptr) {
			return nil, false
		}
		return l.decodeNode(doc, ptr, v)
	}
	p := l.pack
	if items, ok := top["rules"].([]any); ok && kind == kindRulesFile {
		for i := range items {
			ptr := fmt.Sprintf("/rules/%d", i)
			var r rules.Rule
			if n, ok := decode(ptr, &r); ok {
				p.Rules = append(p.Rules, PackRule{Rule: r, File: doc.file, Line: doc.at(ptr).Line, node: n})
			}
		}
	}
	if items, ok := top["collect"].([]any); ok {
		for i := range items {
			var c Collect
			if _, ok := decode(fmt.Sprintf("/collect/%d", i), &c); ok {
				p.Collect = append(p.Collect, c)
			}
		}
	}
	if items, ok := top["dashboards"].([]any); ok {
		for i := range items {
			ptr := fmt.Sprintf("/dashboards/%d", i)
			var d Dashboard
			if _, ok := decode(ptr, &d); ok {
				d.File, d.Line = doc.file, doc.at(ptr).Line
				locatePanels(doc, ptr+"/panels", d.Panels)
				p.Dashboards = append(p.Dashboards, d)
			}
		}
	}
	if items, ok := top["reports"].([]any); ok {
		for i := range items {
			var r Report
			if _, ok := decode(fmt.Sprintf("/reports/%d", i), &r); ok {
				p.Reports = append(p.Reports, r)
			}
		}
	}
}

// locatePanels sets the file and line of each panel of the list at ptr.
func locatePanels(doc *document, ptr string, ps []Panel) {
	for j := range ps {
		ps[j].File, ps[j].Line = doc.file, doc.at(fmt.Sprintf("%s/%d", ptr, j)).Line
	}
}
