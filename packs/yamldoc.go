package packs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// position is a line and column in a YAML file (1-based).
type position struct{ Line, Column int }

// document is one parsed YAML file: its node tree for strict decoding, a
// plain value tree for JSON Schema validation, and where every value sits.
type document struct {
	file  string
	root  *yaml.Node
	value any
	// pos maps a JSON pointer ("/rules/3/threshold") to the position of the
	// key (for mapping entries) or item that holds the value.
	pos map[string]position
}

// maxAliasDepth bounds alias expansion so a "billion laughs" file is an
// error rather than an out-of-memory crash.
const maxAliasDepth = 32

// maxNodes bounds the size of one document.
const maxNodes = 200_000

// parseDocument parses data as exactly one YAML document.
func parseDocument(file string, data []byte) (*document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("file is empty")
		}
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document (---) in one file; split it into files")
	}
	doc := &document{file: file, root: &root, pos: map[string]position{}}
	body := &root
	if body.Kind == yaml.DocumentNode && len(body.Content) == 1 {
		body = body.Content[0]
	}
	c := converter{doc: doc}
	v, err := c.value(body, "", 0)
	if err != nil {
		return nil, err
	}
	doc.value = v
	doc.pos[""] = position{body.Line, body.Column}
	return doc, nil
}

// body returns the top-level node (below the document node).
func (d *document) body() *yaml.Node {
	if d.root.Kind == yaml.DocumentNode && len(d.root.Content) == 1 {
		return d.root.Content[0]
	}
	return d.root
}

// at returns the position of a JSON pointer, falling back to its nearest
// ancestor that has one.
func (d *document) at(ptr string) position {
	for {
		if p, ok := d.pos[ptr]; ok {
			return p
		}
		i := strings.LastIndexByte(ptr, '/')
		if i < 0 {
			return position{}
		}
		ptr = ptr[:i]
	}
}

type converter struct {
	doc   *document
	nodes int
}

// value converts a node into map[string]any / []any / scalars.
func (c *converter) value(n *yaml.Node, ptr string, depth int) (any, error) {
	c.nodes++
	if c.nodes > maxNodes {
		return nil, fmt.Errorf("line %d: document has more than %d values", n.Line, maxNodes)
	}
	switch n.Kind {
	case yaml.AliasNode:
		if depth > maxAliasDepth || n.Alias == nil {
			return nil, fmt.Errorf("line %d: aliases nested too deeply", n.Line)
		}
		return c.value(n.Alias, ptr, depth+1)
	case yaml.MappingNode:
		return c.mapping(n, ptr, depth)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			p := ptr + "/" + strconv.Itoa(i)
			c.doc.pos[p] = position{item.Line, item.Column}
			v, err := c.value(item, p, depth)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		return scalarValue(n), nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

func (c *converter) mapping(n *yaml.Node, ptr string, depth int) (any, error) {
	out := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: mapping keys must be plain strings", k.Line)
		}
		if k.Tag == "!!merge" {
			return nil, fmt.Errorf("line %d: merge keys (<<) are not supported in packs; repeat the fields", k.Line)
		}
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("line %d: key %q appears twice", k.Line, k.Value)
		}
		p := ptr + "/" + escapePointer(k.Value)
		c.doc.pos[p] = position{k.Line, k.Column}
		val, err := c.value(v, p, depth)
		if err != nil {
			return nil, err
		}
		out[k.Value] = val
	}
	return out, nil
}

// scalarValue types a scalar the way YAML 1.2 core schema does.
func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int":
		var i int64
		if n.Decode(&i) == nil {
			return i
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f
		}
	}
	return n.Value
}

// escapePointer escapes a key for a JSON pointer (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// nodeAt walks from n along mapping keys and sequence indexes of a pointer.
func nodeAt(n *yaml.Node, ptr string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if ptr == "" {
		return n
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == tok {
					next = n.Content[i+1]
					break
				}
			}
			if next == nil {
				return nil
			}
			n = next
		case yaml.SequenceNode:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
		default:
			return nil
		}
	}
	return n
}
