package packs

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// SchemaJSON is the JSON Schema of every pack file kind, published so
// editors (the YAML language server) can check packs as they are written.
//
//go:embed schema/pack.schema.json
var SchemaJSON []byte

const schemaURL = "https://crmwatch.invalid/schema/pack.schema.json"

// fileKind names a $defs entry of the schema.
type fileKind string

const (
	kindPackFile       fileKind = "packFile"
	kindRulesFile      fileKind = "rulesFile"
	kindCollectFile    fileKind = "collectFile"
	kindDashboardsFile fileKind = "dashboardsFile"
	kindReportsFile    fileKind = "reportsFile"
	kindOverridesFile  fileKind = "overridesFile"
	kindTestFile       fileKind = "testFile"
)

var (
	schemaOnce sync.Once
	schemas    map[fileKind]*jsonschema.Schema
	schemaErr  error
	printer    = message.NewPrinter(language.English)
)

// compileSchemas compiles the embedded schema once; a broken embedded
// schema is a build defect, reported on every load rather than a panic.
func compileSchemas() (map[fileKind]*jsonschema.Schema, error) {
	schemaOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaJSON))
		if err != nil {
			schemaErr = fmt.Errorf("embedded pack schema: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource(schemaURL, doc); err != nil {
			schemaErr = fmt.Errorf("embedded pack schema: %w", err)
			return
		}
		out := map[fileKind]*jsonschema.Schema{}
		for _, k := range []fileKind{kindPackFile, kindRulesFile, kindCollectFile, kindDashboardsFile, kindReportsFile, kindOverridesFile, kindTestFile} {
			s, err := c.Compile(schemaURL + "#/$defs/" + string(k))
			if err != nil {
				schemaErr = fmt.Errorf("embedded pack schema %s: %w", k, err)
				return
			}
			out[k] = s
		}
		schemas = out
	})
	return schemas, schemaErr
}

// schemaResult lists the JSON pointers where the schema found problems.
type schemaResult struct{ bad []string }

// ok reports whether the value at ptr and everything below it passed.
func (r schemaResult) ok(ptr string) bool {
	for _, b := range r.bad {
		if b == "" || b == ptr || strings.HasPrefix(b, ptr+"/") || strings.HasPrefix(ptr, b+"/") {
			return false
		}
	}
	return true
}

// checkSchema validates doc as kind and adds one problem per failing leaf.
func checkSchema(doc *document, kind fileKind, pl *problemList) schemaResult {
	ss, err := compileSchemas()
	if err != nil {
		pl.add(doc.file, position{}, "", "%v", err)
		return schemaResult{bad: []string{""}}
	}
	err = ss[kind].Validate(doc.value)
	if err == nil {
		return schemaResult{}
	}
	var res schemaResult
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		pl.add(doc.file, position{}, "", "schema check: %v", err)
		return schemaResult{bad: []string{""}}
	}
	seen := map[string]bool{}
	for _, leaf := range leaves(ve) {
		ptr := pointer(leaf.InstanceLocation)
		res.bad = append(res.bad, ptr)
		msg := leaf.ErrorKind.LocalizedString(printer)
		if props := additionalProps(leaf); len(props) > 0 {
			// Point at each unknown key rather than at its parent object.
			for _, p := range props {
				kp := ptr + "/" + escapePointer(p)
				if !seen[kp] {
					seen[kp] = true
					pl.add(doc.file, doc.at(kp), kp, "unknown field %q", p)
				}
			}
			continue
		}
		key := ptr + "\x00" + msg
		if seen[key] {
			continue
		}
		seen[key] = true
		pl.add(doc.file, doc.at(ptr), displayPath(ptr), "%s", msg)
	}
	return res
}

// leaves returns the innermost errors: they name the actual field at fault.
func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

func additionalProps(e *jsonschema.ValidationError) []string {
	if ap, ok := e.ErrorKind.(*kind.AdditionalProperties); ok {
		return ap.Properties
	}
	return nil
}

func pointer(loc []string) string {
	if len(loc) == 0 {
		return ""
	}
	parts := make([]string, len(loc))
	for i, s := range loc {
		parts[i] = escapePointer(s)
	}
	return "/" + strings.Join(parts, "/")
}

// displayPath is the pointer shown to people; "" means the whole file.
func displayPath(ptr string) string { return ptr }
