package packs

import (
	"fmt"
	"io/fs"
	"math"
	"path"
	"slices"

	"crmwatch/event"
	"crmwatch/rules"
)

// TestFile is a pack unit-test file (format crmwatch.packtest/v1).
type TestFile struct {
	Name   string
	Format string     `yaml:"format"`
	Packs  []string   `yaml:"packs"`
	Tests  []TestCase `yaml:"tests"`
}

// TestCase is one scenario: inputs at relative times and expectations.
type TestCase struct {
	Name       string          `yaml:"name"`
	Overrides  []string        `yaml:"overrides"`
	Tick       rules.Duration  `yaml:"tick"`
	Events     []TestEvent     `yaml:"events"`
	Samples    []TestSeries    `yaml:"samples"`
	Heartbeats []TestHeartbeat `yaml:"heartbeats"`
	Eval       []TestEval      `yaml:"eval"`
}

// TestEvent is an event at At, optionally repeated Repeat times Every apart.
type TestEvent struct {
	At           rules.Duration    `yaml:"at"`
	Host         string            `yaml:"host"`
	Role         string            `yaml:"role"`
	Source       string            `yaml:"source"`
	EventID      uint32            `yaml:"event_id"`
	Level        string            `yaml:"level"`
	Organization string            `yaml:"organization"`
	Category     string            `yaml:"category"`
	Process      string            `yaml:"process"`
	Message      string            `yaml:"message"`
	Fields       map[string]string `yaml:"fields"`
	Repeat       int               `yaml:"repeat"`
	Every        rules.Duration    `yaml:"every"`
}

// TestSeries is a counter series: Values (series notation or a list), one
// every Every (default 15s) from At.
type TestSeries struct {
	At      rules.Duration `yaml:"at"`
	Every   rules.Duration `yaml:"every"`
	Host    string         `yaml:"host"`
	Role    string         `yaml:"role"`
	Counter string         `yaml:"counter"`
	Values  seriesValues   `yaml:"values"`
}

// TestHeartbeat is an agent heartbeat at At, repeated Every until Until.
type TestHeartbeat struct {
	At    rules.Duration `yaml:"at"`
	Every rules.Duration `yaml:"every"`
	Until rules.Duration `yaml:"until"`
	Host  string         `yaml:"host"`
	Roles []string       `yaml:"roles"`
}

// TestEval is a point in time with the alerts expected then.
type TestEval struct {
	At     rules.Duration `yaml:"at"`
	Rules  []string       `yaml:"rules"`
	Alerts []TestAlert    `yaml:"alerts"`
}

// TestAlert is one expected alert; empty optional fields are not compared.
type TestAlert struct {
	Rule          string            `yaml:"rule" json:"rule"`
	Severity      string            `yaml:"severity" json:"severity"`
	State         string            `yaml:"state" json:"state,omitempty"`
	RepeatCount   int               `yaml:"repeat_count" json:"repeat_count,omitempty"`
	Hosts         []string          `yaml:"hosts" json:"hosts,omitempty"`
	Organizations []string          `yaml:"organizations" json:"organizations,omitempty"`
	Fields        map[string]string `yaml:"fields" json:"fields,omitempty"`
	Summary       string            `yaml:"summary" json:"summary,omitempty"`
}

// seriesValues accepts "0 1+1x3" or [0, 1, null].
type seriesValues []float64

// UnmarshalYAML implements yaml.Unmarshaler via the schema-checked shapes.
func (s *seriesValues) UnmarshalYAML(unmarshal func(any) error) error {
	var text string
	if err := unmarshal(&text); err == nil {
		v, err := ParseSeries(text)
		*s = v
		return err
	}
	var list []*float64
	if err := unmarshal(&list); err != nil {
		return err
	}
	out := make([]float64, len(list))
	for i, v := range list {
		out[i] = math.NaN()
		if v != nil {
			out[i] = *v
		}
	}
	*s = out
	return nil
}

// ParseTestFile reads and validates a test file from fsys.
func ParseTestFile(fsys fs.FS, name string) (*TestFile, error) {
	var pl problemList
	data, err := readLimited(fsys, name)
	if err != nil {
		return nil, Problems{{File: name, Message: fmt.Sprintf("cannot read: %v", err)}}
	}
	doc, res := readDocument(name, data, kindTestFile, &pl)
	if doc == nil || !res.ok("") {
		return nil, pl.err()
	}
	tf := &TestFile{Name: name}
	if err := decodeStrict(doc.body(), tf); err != nil {
		pl.add(name, position{}, "", "%v", err)
		return nil, pl.err()
	}
	for i, tc := range tf.Tests {
		for j, ev := range tc.Events {
			if ev.Level != "" {
				if _, err := event.ParseLevel(ev.Level); err != nil {
					ptr := fmt.Sprintf("/tests/%d/events/%d/level", i, j)
					pl.add(name, doc.at(ptr), ptr, "%v", err)
				}
			}
		}
		if !slices.IsSortedFunc(tc.Eval, func(a, b TestEval) int { return int(a.At - b.At) }) {
			ptr := fmt.Sprintf("/tests/%d/eval", i)
			pl.add(name, doc.at(ptr), ptr, "eval points must be in time order")
		}
	}
	if err := pl.err(); err != nil {
		return nil, err
	}
	return tf, nil
}

// PackDirs returns the pack directories of the file, relative to fsys
// (default: the parent of the directory holding the file).
func (tf *TestFile) PackDirs() []string {
	base := path.Dir(tf.Name)
	if len(tf.Packs) == 0 {
		return []string{path.Dir(base)}
	}
	out := make([]string, len(tf.Packs))
	for i, p := range tf.Packs {
		out[i] = path.Join(base, p)
	}
	return out
}
