package recipe

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// A template is a YAML string split into literal text and ${{ }}
// expressions. `$${{` is the escape for a literal `${{`; a shell `${VAR}` or
// `$VAR` is plain text.
type template struct {
	parts []part
	// single: the string is exactly one expression (with whitespace around),
	// so its value keeps the expression's type.
	single bool
}

type part struct {
	lit  string
	expr hclsyntax.Expression // nil for literal text
	src  string
	// start is the file position of src's first character; continuation
	// lines of a block scalar are indented by indent columns.
	start  Pos
	indent int
	vars   []hcl.Traversal
}

// pos translates a position inside the expression source (as HCL reports
// it, starting at 1:1) to the recipe file.
func (p *part) pos(rel hcl.Pos) Pos {
	if rel.Line <= 1 {
		return Pos{File: p.start.File, Line: p.start.Line, Col: p.start.Col + max(rel.Column, 1) - 1}
	}
	return Pos{File: p.start.File, Line: p.start.Line + rel.Line - 1, Col: p.indent + rel.Column}
}

// rawExpr is one ${{ }} found by scanTemplate; off is the byte offset of the
// expression text in the string, dollar that of its `${{`.
type rawExpr struct {
	lit         string // literal text before it
	src         string
	off, dollar int
}

// scanTemplate splits s at ${{ }}. tail is the literal text after the last
// expression. unterminated >= 0 is the offset of a `${{` without `}}`.
func scanTemplate(s string) (exprs []rawExpr, tail string, unterminated int) {
	var lit strings.Builder
	i := 0
	for i < len(s) {
		if strings.HasPrefix(s[i:], "$${{") {
			lit.WriteString("${{")
			i += 4
			continue
		}
		if strings.HasPrefix(s[i:], "${{") {
			end, ok := findClose(s, i+3)
			if !ok {
				return exprs, lit.String(), i
			}
			exprs = append(exprs, rawExpr{lit: lit.String(), src: s[i+3 : end], off: i + 3, dollar: i})
			lit.Reset()
			i = end + 2
			continue
		}
		lit.WriteByte(s[i])
		i++
	}
	return exprs, lit.String(), -1
}

// findClose returns the offset of the `}}` that ends an expression starting
// at from, skipping braces of HCL object constructors and string literals so
// that `${{ {a = {b = 1}} }}` and `${{ "}}" }}` work.
func findClose(s string, from int) (int, bool) {
	depth := 0
	inStr := false
	for j := from; j < len(s); j++ {
		c := s[j]
		if inStr {
			switch c {
			case '\\':
				j++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{':
			depth++
		case '}':
			if depth == 0 && j+1 < len(s) && s[j+1] == '}' {
				return j, true
			}
			if depth > 0 {
				depth--
			}
		}
	}
	return 0, false
}

// countOccurrences counts "${{" in s before offset end.
func countOccurrences(s string, end int) int {
	n := 0
	for i := 0; i+3 <= end; {
		k := strings.Index(s[i:end], "${{")
		if k < 0 {
			break
		}
		n++
		i += k + 3
	}
	return n
}

// parseTemplate splits a decoded string scalar into a template. It returns
// nil when s holds no expression (the literal, with `$${{` unescaped, is
// then in lit).
func (d *decoder) parseTemplate(s string, at Pos, block bool) (t *template, lit string) {
	exprs, tail, bad := scanTemplate(s)
	if bad >= 0 {
		p := d.locate(at, s, bad, -3)
		d.errs.add(p, "unterminated ${{: missing }}")
		return nil, s
	}
	if len(exprs) == 0 {
		return nil, tail
	}
	t = &template{}
	indent := 0
	if block {
		indent = d.blockIndent(at.Line)
	}
	for _, e := range exprs {
		if e.lit != "" {
			t.parts = append(t.parts, part{lit: e.lit})
		}
		p := part{src: e.src, start: d.locate(at, s, e.dollar, 0), indent: indent}
		if strings.TrimSpace(e.src) == "" {
			d.errs.add(p.start, "empty expression in ${{ }}")
			return nil, s
		}
		expr, diags := hclsyntax.ParseExpression([]byte(e.src), d.file, hcl.Pos{Line: 1, Column: 1, Byte: 0})
		if diags.HasErrors() {
			for _, dg := range diags {
				d.errs.addErr(diagError(&p, dg))
			}
			return nil, s
		}
		p.expr = expr
		p.vars = expr.Variables()
		t.parts = append(t.parts, p)
	}
	if tail != "" {
		t.parts = append(t.parts, part{lit: tail})
	}
	nexpr := 0
	for _, p := range t.parts {
		if p.expr != nil {
			nexpr++
		} else if strings.TrimSpace(p.lit) != "" {
			nexpr = 2 // text around the expression: a string result
		}
	}
	t.single = nexpr == 1
	return t, ""
}

// locate finds, in the raw file, the `${{` that is the n-th one in the
// decoded string s (n counted up to offset dollar), and returns the position
// just after it (shift -3: the `$` itself). Counting occurrences instead of
// mapping offsets copes with quoting and escapes that make the decoded text
// differ from the source.
func (d *decoder) locate(at Pos, s string, dollar, shift int) Pos {
	n := countOccurrences(s, dollar)
	off := d.offset(at)
	for i := 0; i <= n; i++ {
		k := bytes.Index(d.data[off:], []byte("${{"))
		if k < 0 {
			return at
		}
		if i == n {
			return d.posOf(off + k + 3 + shift)
		}
		off += k + 3
	}
	return at
}

// offset converts a 1-based line and rune column into a byte offset.
func (d *decoder) offset(p Pos) int {
	if p.Line < 1 || p.Line > len(d.lines) {
		return len(d.data)
	}
	off := d.lines[p.Line-1]
	for c := 1; c < p.Col && off < len(d.data); c++ {
		_, w := utf8.DecodeRune(d.data[off:])
		off += w
	}
	return off
}

// posOf converts a byte offset into a position.
func (d *decoder) posOf(off int) Pos {
	lo, hi := 0, len(d.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if d.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return Pos{File: d.file, Line: lo + 1, Col: 1 + utf8.RuneCount(d.data[d.lines[lo]:off])}
}

// blockIndent returns the indentation of a block scalar whose indicator is
// on line: that of its first non-blank content line.
func (d *decoder) blockIndent(line int) int {
	for l := line; l < len(d.lines); l++ {
		start := d.lines[l]
		end := len(d.data)
		if l+1 < len(d.lines) {
			end = d.lines[l+1]
		}
		text := string(d.data[start:end])
		if strings.TrimSpace(text) == "" {
			continue
		}
		return len(text) - len(strings.TrimLeftFunc(text, unicode.IsSpace))
	}
	return 0
}

// diagError converts an HCL diagnostic of part p into a positioned error.
func diagError(p *part, dg *hcl.Diagnostic) *Error {
	pos := p.start
	if dg.Subject != nil {
		pos = p.pos(dg.Subject.Start)
	}
	return &Error{Pos: pos, Msg: diagMsg(dg)}
}

func diagMsg(dg *hcl.Diagnostic) string {
	msg := dg.Summary
	if msg != "" {
		r, w := utf8.DecodeRuneInString(msg)
		msg = string(unicode.ToLower(r)) + msg[w:]
	}
	if dg.Detail != "" {
		msg += ": " + dg.Detail
	}
	return msg
}

// stepName returns the name of a traversal step written `.name` or
// `["name"]`.
func stepName(s hcl.Traverser) (string, bool) {
	switch t := s.(type) {
	case hcl.TraverseRoot:
		return t.Name, true
	case hcl.TraverseAttr:
		return t.Name, true
	case hcl.TraverseIndex:
		if t.Key.IsKnown() && !t.Key.IsNull() && t.Key.Type().FriendlyName() == "string" {
			return t.Key.AsString(), true
		}
	}
	return "", false
}

// stageRef reads stages.<id>[.outputs.<name>] from a traversal.
// matrixKeyed maps the source range of every stage reference in expr that
// is indexed by exactly one matrix value, as in
// stages.opt.outputs.model[matrix.model], to that matrix key ("model").
func matrixKeyed(expr hclsyntax.Expression) map[hcl.Range]string {
	out := map[hcl.Range]string{}
	if expr == nil {
		return out
	}
	_ = hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
		ix, ok := n.(*hclsyntax.IndexExpr)
		if !ok {
			return nil
		}
		coll, ok := ix.Collection.(*hclsyntax.ScopeTraversalExpr)
		if !ok || coll.Traversal.RootName() != "stages" {
			return nil
		}
		key, ok := ix.Key.(*hclsyntax.ScopeTraversalExpr)
		if !ok || key.Traversal.RootName() != "matrix" || len(key.Traversal) != 2 {
			return nil
		}
		if k, ok := stepName(key.Traversal[1]); ok {
			out[coll.Traversal.SourceRange()] = k
		}
		return nil
	})
	return out
}

func stageRef(t hcl.Traversal, p part) (Ref, bool) {
	if len(t) < 2 || t.RootName() != "stages" {
		return Ref{}, false
	}
	id, ok := stepName(t[1])
	if !ok {
		return Ref{}, false
	}
	r := Ref{Stage: id, Pos: p.pos(t.SourceRange().Start)}
	if k, ok := matrixKeyed(p.expr)[t.SourceRange()]; ok {
		r.MatrixKey = k
	}
	if len(t) >= 4 {
		if o, ok := stepName(t[2]); ok && o == "outputs" {
			r.Output, _ = stepName(t[3])
		}
	}
	return r, true
}
