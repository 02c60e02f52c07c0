package recipe

import (
	"bytes"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// splitExprKey returns the line of a plain map key that holds ${{, or 0:
// keys never hold expressions, so YAML split a value at a ": " inside one.
func splitExprKey(n *yaml.Node, depth int) int {
	if depth > maxDepth {
		return 0
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 && c.Kind == yaml.ScalarNode && c.Style == 0 && strings.Contains(c.Value, "${{") {
			return c.Line
		}
		if l := splitExprKey(c, depth+1); l > 0 {
			return l
		}
	}
	return 0
}

// maxQuoted bounds the lines quoteExprLine may fix in one file.
const maxQuoted = 200

// plainExpr matches a line whose value is plain (unquoted, not flow or
// block) text holding a ${{ }} expression: optional "- " items, an optional
// "key: ", the value, an optional comment after the last }}.
var plainExpr = regexp.MustCompile(`^(\s*(?:-\s+)*(?:[^\s#'"{\[\-$][^#${]*?:\s+)?)([^\s'"\[{|>&*!%@#` + "`" + `].*\}\}[^#]*?)(\s+#[^}]*)?\s*$`)

// quoteExprLine single-quotes a plain value holding ${{ }} on line
// (1-based). HCL needs ": " (conditionals, for expressions) where plain YAML
// forbids it, so `x: ${{ a ? b : c }}` would otherwise be a YAML error. It is
// only tried on a line YAML rejected or split, so valid files are never
// rewritten; a plain scalar has no escapes, so the quoted text decodes to
// the same string. The quote takes the column of the value's first
// character, and positions are located in the original text, so errors
// still point at what the user wrote.
// It returns the value's column (1-based) too, for the warning.
func quoteExprLine(src []byte, line int) ([]byte, int, bool) {
	lines := bytes.Split(src, []byte("\n"))
	if line < 1 || line > len(lines) {
		return nil, 0, false
	}
	m := plainExpr.FindSubmatch(bytes.TrimRight(lines[line-1], "\r"))
	if m == nil || !bytes.Contains(m[2], []byte("${{")) {
		return nil, 0, false
	}
	expr := strings.ReplaceAll(string(m[2]), "'", "''")
	lines[line-1] = []byte(string(m[1]) + "'" + expr + "'" + string(m[3]))
	return bytes.Join(lines, []byte("\n")), len(m[1]) + 1, true
}
