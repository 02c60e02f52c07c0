package recipe

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits that keep hostile input (alias bombs, self-referencing anchors)
// from exhausting memory or the stack.
const (
	maxNodes = 20_000
	maxDepth = 200
)

// decoder turns a yaml.Node tree into Values, recording every problem.
type decoder struct {
	file  string
	dir   string
	data  []byte // as written; positions are located in it
	yaml  []byte // what YAML parsed: data with some ${{ }} lines quoted
	lines []int  // byte offset of each line start
	errs  errs
	// warns: lines szrun had to quote before YAML could read them.
	warns errs
	nodes int
	full  bool // maxNodes reached; reported once
}

func newDecoder(file, dir string, data []byte) *decoder {
	d := &decoder{file: file, dir: dir, data: data, lines: []int{0}}
	for i, c := range data {
		if c == '\n' {
			d.lines = append(d.lines, i+1)
		}
	}
	return d
}

func (d *decoder) nodePos(n *yaml.Node) Pos {
	return Pos{File: d.file, Line: n.Line, Col: n.Column}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML decodes data into its one document node.
func (d *decoder) parseYAML() (root *yaml.Node) {
	defer func() {
		// yaml.v3 has panicked on malformed input before; a recipe error is
		// the right answer to any input, never a crash.
		if r := recover(); r != nil {
			d.errs.add(Pos{File: d.file, Line: 1, Col: 1}, "malformed YAML: %v", r)
			root = nil
		}
	}()
	src := d.data
	quoted := map[int]bool{}
	for {
		var doc yaml.Node
		err := yaml.Unmarshal(src, &doc)
		if err == nil {
			// `- ${{ a ? b : c }}` is valid YAML: a map with the key
			// "${{ a ? b". Keys never hold expressions; quote and retry.
			if l := splitExprKey(&doc, 0); l > 0 && len(quoted) < maxQuoted && !quoted[l] {
				if fixed, col, ok := quoteExprLine(src, l); ok {
					quoted[l] = true
					d.warnQuoted(l, col)
					src = fixed
					continue
				}
			}
			d.yaml = src
			if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
				d.errs.add(Pos{File: d.file, Line: 1, Col: 1}, "empty recipe: expected a mapping with version and stages")
				return nil
			}
			return doc.Content[0]
		}
		msg := err.Error()
		pos := Pos{File: d.file, Line: 1, Col: 1}
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			pos.Line, _ = strconv.Atoi(m[1])
			msg = m[2]
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		if len(quoted) < maxQuoted && !quoted[pos.Line] {
			if fixed, col, ok := quoteExprLine(src, pos.Line); ok {
				quoted[pos.Line] = true
				d.warnQuoted(pos.Line, col)
				src = fixed
				continue
			}
		}
		d.errs.add(pos, "malformed YAML: %s", msg)
		return nil
	}
}

// warnQuoted says that a line is not portable YAML and how to fix it.
func (d *decoder) warnQuoted(line, col int) {
	d.warns.add(Pos{File: d.file, Line: line, Col: col},
		"this unquoted value has \": \" inside ${{ }}, which only szrun reads as YAML (editors, linters and other YAML parsers reject or split it): quote this value, e.g. '${{ a ? b : c }}'")
}

// value converts n (resolving aliases and merge keys) into a Value.
func (d *decoder) value(n *yaml.Node, depth int) *Value {
	pos := d.nodePos(n)
	if depth > maxDepth {
		d.errs.add(pos, "value nested too deeply (more than %d levels, or an anchor that contains itself)", maxDepth)
		return &Value{kind: Null, pos: pos, dir: d.dir}
	}
	if d.nodes++; d.nodes > maxNodes {
		if !d.full {
			d.full = true
			d.errs.add(pos, "recipe too large: more than %d values after expanding aliases", maxNodes)
		}
		return &Value{kind: Null, pos: pos, dir: d.dir}
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return &Value{kind: Null, pos: pos, dir: d.dir}
		}
		return d.value(n.Alias, depth+1)
	case yaml.SequenceNode:
		v := &Value{kind: List, pos: pos, dir: d.dir, items: []*Value{}}
		for _, c := range n.Content {
			v.items = append(v.items, d.value(c, depth+1))
		}
		return v
	case yaml.MappingNode:
		return d.mapping(n, depth)
	case yaml.ScalarNode:
		return d.scalar(n)
	}
	d.errs.add(pos, "unexpected YAML node")
	return &Value{kind: Null, pos: pos, dir: d.dir}
}

func (d *decoder) mapping(n *yaml.Node, depth int) *Value {
	v := &Value{kind: Map, pos: d.nodePos(n), dir: d.dir}
	if depth > maxDepth {
		// A map that merges itself (`a: &a {<<: *a}`) recurses here.
		d.errs.add(v.pos, "value nested too deeply (more than %d levels, or an anchor that contains itself)", maxDepth)
		return v
	}
	explicit := map[string]Pos{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k.Kind == yaml.ScalarNode && k.Tag != "!!merge" {
			if first, dup := explicit[k.Value]; dup {
				d.errs.add(d.nodePos(n.Content[i]), "duplicate key %q (first defined at %d:%d)", k.Value, first.Line, first.Col)
				continue
			}
			explicit[k.Value] = d.nodePos(n.Content[i])
		}
	}
	added := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		k := resolve(kn)
		switch {
		case k.Kind == yaml.ScalarNode && k.Tag == "!!merge":
			d.merge(v, vn, explicit, added, depth)
		case k.Kind != yaml.ScalarNode:
			d.errs.add(d.nodePos(kn), "a key must be a plain string, not a list or map")
		case added[k.Value] || explicit[k.Value] != d.nodePos(kn):
			// duplicate, reported above
		default:
			added[k.Value] = true
			v.keys = append(v.keys, k.Value)
			v.keyPos = append(v.keyPos, d.nodePos(kn))
			v.vals = append(v.vals, d.value(vn, depth+1))
		}
	}
	return v
}

// merge applies a `<<: *anchor` (or a list of them): keys written in the
// mapping itself win, then earlier merged maps win over later ones.
func (d *decoder) merge(v *Value, src *yaml.Node, explicit map[string]Pos, added map[string]bool, depth int) {
	src = resolve(src)
	var maps []*yaml.Node
	switch src.Kind {
	case yaml.MappingNode:
		maps = []*yaml.Node{src}
	case yaml.SequenceNode:
		for _, c := range src.Content {
			maps = append(maps, resolve(c))
		}
	default:
		d.errs.add(d.nodePos(src), "<< merges only maps")
		return
	}
	for _, m := range maps {
		if m.Kind != yaml.MappingNode {
			d.errs.add(d.nodePos(src), "<< merges only maps")
			return
		}
		mv := d.mapping(m, depth+1)
		for i, k := range mv.keys {
			if _, ok := explicit[k]; ok || added[k] {
				continue
			}
			added[k] = true
			v.keys = append(v.keys, k)
			v.keyPos = append(v.keyPos, mv.keyPos[i])
			v.vals = append(v.vals, mv.vals[i])
		}
	}
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}

func (d *decoder) scalar(n *yaml.Node) *Value {
	pos := d.nodePos(n)
	v := &Value{kind: Scalar, pos: pos, dir: d.dir}
	switch n.ShortTag() {
	case "!!null":
		v.kind = Null
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			d.errs.add(pos, "invalid bool %q", n.Value)
		}
		v.lit = b
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			v.lit = i
			break
		}
		var f float64
		if err := n.Decode(&f); err != nil {
			d.errs.add(pos, "invalid number %q", n.Value)
		}
		v.lit = f
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errs.add(pos, "invalid number %q (NaN and infinities are not allowed)", n.Value)
			f = 0
		}
		v.lit = f
	case "!!str", "!!timestamp":
		block := n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
		t, lit := d.parseTemplate(n.Value, pos, block)
		if t != nil {
			v.kind, v.tmpl = Template, t
		} else {
			v.lit = lit
		}
	default:
		d.errs.add(pos, "unsupported YAML tag %s", n.Tag)
		v.kind = Null
	}
	return v
}

// describeValue names a value's kind for messages: `number 5`, `a list`.
func describeValue(v *Value) string {
	switch v.Kind() {
	case Null:
		return "null"
	case Template:
		return "an expression"
	case List:
		return "a list"
	case Map:
		return "a map"
	}
	switch x := v.lit.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("bool %v", x)
	case int64:
		return fmt.Sprintf("number %d", x)
	case float64:
		return "number " + strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprintf("%T", v.lit)
}
