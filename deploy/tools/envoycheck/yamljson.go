package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yamlDoc is an Envoy YAML file turned into JSON for protojson, remembering where each
// JSON line came from so that errors can name a YAML line and a field path.
//
// The JSON is written with every object member and array element on its own line, so
// the line protojson reports in an error maps straight back to a YAML position.
type yamlDoc struct {
	json []byte
	// origin[i] is the YAML position of JSON line i+1.
	origin []position
	// lineOf maps a field path (static_resources.clusters[0].connect_timeout) to the
	// YAML line that set it.
	lineOf map[string]int
}

type position struct {
	line int
	path string
}

// identifier is a YAML key that is printed as .key in a path; anything else (map keys
// such as "envoy.filters.http.cors", or "@type") is printed as ["key"].
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func joinKey(path, key string) string {
	if identifier.MatchString(key) {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	return fmt.Sprintf("%s[%q]", path, key)
}

func joinIndex(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// parseYAML converts one YAML document to JSON. It refuses what Envoy's own loader
// would read differently or what hides mistakes: duplicate keys, merge keys (<<),
// non-scalar keys, custom tags.
func parseYAML(src []byte) (*yamlDoc, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, err
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, fmt.Errorf("the file holds no YAML document")
	}
	c := &converter{doc: &yamlDoc{lineOf: map[string]int{}}}
	c.doc.origin = append(c.doc.origin, position{line: root.Content[0].Line})
	if err := c.value(root.Content[0], "", 0); err != nil {
		return nil, err
	}
	c.doc.json = c.out.Bytes()
	return c.doc, nil
}

type converter struct {
	out bytes.Buffer
	doc *yamlDoc
}

// newline starts a new JSON line that came from YAML `line`, at field `path`.
func (c *converter) newline(line int, path string) {
	c.out.WriteByte('\n')
	c.doc.origin = append(c.doc.origin, position{line: line, path: path})
	if _, seen := c.doc.lineOf[path]; !seen {
		c.doc.lineOf[path] = line
	}
}

func (c *converter) value(n *yaml.Node, path string, depth int) error {
	if depth > 200 {
		return fmt.Errorf("line %d: nesting deeper than 200 levels (alias loop?)", n.Line)
	}
	switch n.Kind {
	case yaml.AliasNode:
		// An alias is the anchored value again, as Envoy reads it.
		return c.value(n.Alias, path, depth+1)
	case yaml.MappingNode:
		c.out.WriteByte('{')
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.ShortTag() == "!!merge" {
				return fmt.Errorf("line %d: YAML merge keys (<<) are not supported: write the fields out, or alias a whole mapping", k.Line)
			}
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: a mapping key must be a plain string", k.Line)
			}
			if first, dup := seen[k.Value]; dup {
				return fmt.Errorf("line %d: key %q is already set on line %d", k.Line, k.Value, first)
			}
			seen[k.Value] = k.Line
			if i > 0 {
				c.out.WriteByte(',')
			}
			child := joinKey(path, k.Value)
			c.newline(k.Line, child)
			key, _ := json.Marshal(k.Value)
			c.out.Write(key)
			c.out.WriteByte(':')
			if err := c.value(v, child, depth+1); err != nil {
				return err
			}
		}
		c.out.WriteByte('}')
	case yaml.SequenceNode:
		c.out.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				c.out.WriteByte(',')
			}
			child := joinIndex(path, i)
			c.newline(item.Line, child)
			if err := c.value(item, child, depth+1); err != nil {
				return err
			}
		}
		c.out.WriteByte(']')
	case yaml.ScalarNode:
		return c.scalar(n)
	default:
		return fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	return nil
}

// scalar writes a YAML scalar as the JSON value protojson expects: numbers stay numbers
// (protojson accepts them for every numeric field), durations such as 5s stay strings.
func (c *converter) scalar(n *yaml.Node) error {
	var v any
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		v = n.Value
	case "!!null":
		v = nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return fmt.Errorf("line %d: %v", n.Line, err)
		}
		v = b
	case "!!int":
		var i any
		if err := n.Decode(&i); err != nil {
			return fmt.Errorf("line %d: %v", n.Line, err)
		}
		v = i
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return fmt.Errorf("line %d: %v", n.Line, err)
		}
		switch {
		case math.IsNaN(f):
			v = "NaN"
		case math.IsInf(f, 1):
			v = "Infinity"
		case math.IsInf(f, -1):
			v = "-Infinity"
		default:
			v = f
		}
	default:
		return fmt.Errorf("line %d: unsupported YAML tag %s", n.Line, n.Tag)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	c.out.Write(b)
	return nil
}

// where names the YAML line of a field path, or of its closest parent that the file
// spells out (fields filled in by defaults have no line of their own).
func (d *yamlDoc) where(path string) string {
	for p := path; ; {
		if line, ok := d.lineOf[p]; ok {
			return fmt.Sprintf("line %d", line)
		}
		cut := strings.LastIndexAny(p, ".[")
		if cut <= 0 {
			return "top level"
		}
		p = p[:cut]
	}
}

// jsonLine maps a protojson error position ("(line 12:5)") back to YAML.
var jsonLine = regexp.MustCompile(`\(line (\d+):\d+\)`)

func (d *yamlDoc) explain(err error) string {
	msg := err.Error()
	m := jsonLine.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	var n int
	fmt.Sscanf(m[1], "%d", &n)
	msg = strings.TrimSpace(strings.Replace(strings.TrimPrefix(msg, "proto:"), m[0], "", 1))
	msg = strings.TrimPrefix(msg, ": ")
	if n < 1 || n > len(d.origin) {
		return msg
	}
	at := d.origin[n-1]
	if at.path == "" {
		return fmt.Sprintf("line %d: %s", at.line, msg)
	}
	return fmt.Sprintf("line %d, %s: %s", at.line, at.path, msg)
}
