package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// palFile is the part of a PAL v2 threshold file the generator reads.
type palFile struct {
	Name      string        `xml:"NAME,attr"`
	Questions []palQuestion `xml:"QUESTION"`
	Analyses  []palAnalysis `xml:"ANALYSIS"`
}

type palQuestion struct {
	Var     string `xml:"QUESTIONVARNAME,attr"`
	Default string `xml:"DEFAULTVALUE,attr"`
}

type palAnalysis struct {
	Name        string         `xml:"NAME,attr"`
	Enabled     string         `xml:"ENABLED,attr"`
	Category    string         `xml:"CATEGORY,attr"`
	Primary     string         `xml:"PRIMARYDATASOURCE,attr"`
	Thresholds  []palThreshold `xml:"THRESHOLD"`
	Description string         `xml:"DESCRIPTION"`
}

type palThreshold struct {
	Name      string `xml:"NAME,attr"`
	Condition string `xml:"CONDITION,attr"`
	Code      string `xml:"CODE"`
}

// palCounter is one analysis with its thresholds decoded.
type palCounter struct {
	File        string // base name of the PAL file
	Path        string
	Description string
	Trend       bool   // a -IsTrendOnly threshold exists: PAL failure pattern
	TrendMax    string // warning when PAL's trend condition is not Critical
	Op          string
	Warning     string // number or ${expression}
	Critical    string
}

var (
	reStatic = regexp.MustCompile(`StaticThreshold\s.*-Operator\s+'(\w+)'\s+-Threshold\s+(\S+)(.*)`)
	reAssign = regexp.MustCompile(`\$(\w+)\s*=\s*(.+)`)
)

// palParams maps PAL question variables to pack parameters.
var palParams = map[string]string{
	"SampleInterval":                  "sample_interval_seconds",
	"MaximumAsyncOperationsTroughput": "async_max_outstanding",
}

// readPAL decodes every *.xml file in dir (inheritance is not followed:
// the CRM files' own analyses are what the pack covers; the inherited
// generic files are the §4.2 table).
func readPAL(dir string) ([]palCounter, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no PAL files in %s (want the PAL DynamicsCRM2013_*.xml files, as in testdata/pal): %v", dir, err)
	}
	sort.Strings(files)
	var out []palCounter
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var pf palFile
		if err := xml.Unmarshal(data, &pf); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, a := range pf.Analyses {
			if len(a.Thresholds) == 0 || !strings.EqualFold(a.Enabled, "true") {
				continue
			}
			c, err := decodeAnalysis(filepath.Base(f), a)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", f, a.Name, err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func decodeAnalysis(file string, a palAnalysis) (palCounter, error) {
	c := palCounter{File: file, Path: a.Primary, Description: strings.TrimSpace(a.Description), TrendMax: "warning"}
	for _, th := range a.Thresholds {
		code := strings.TrimSpace(th.Code)
		vars := map[string]string{}
		for _, line := range strings.Split(code, "\n") {
			if m := reAssign.FindStringSubmatch(strings.TrimSpace(line)); m != nil && !strings.HasPrefix(strings.TrimSpace(line), "StaticThreshold") {
				vars[m[1]] = palExpr(m[2])
			}
		}
		m := reStatic.FindStringSubmatch(code)
		if m == nil {
			return c, fmt.Errorf("threshold %q: no StaticThreshold call", th.Name)
		}
		op, val, rest := m[1], m[2], m[3]
		if strings.HasPrefix(val, "$") {
			expr, ok := vars[val[1:]]
			if !ok {
				return c, fmt.Errorf("threshold %q: unknown variable %s", th.Name, val)
			}
			val = "${" + expr + "}"
		}
		c.Op = op
		if strings.Contains(rest, "-IsTrendOnly $True") {
			c.Trend = true
			if th.Condition == "Critical" {
				c.TrendMax = "critical"
			}
			continue
		}
		// PAL spells one condition "Waning"; anything not Critical is a warning.
		if th.Condition == "Critical" {
			c.Critical = val
		} else {
			c.Warning = val
		}
	}
	return c, nil
}

// palExpr rewrites a PowerShell arithmetic expression over PAL question
// variables into a pack ${…} expression.
func palExpr(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "[Int]", "")
	for v, p := range palParams {
		s = strings.ReplaceAll(s, "$"+v, p)
	}
	return s
}
