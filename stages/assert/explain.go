package assert

import (
	"strconv"
	"strings"

	"github.com/sentinelzer0/szrun/stages"
)

// flipped is the operator with its sides swapped.
var flipped = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}

// explain says what the comparisons of a false condition found: the ones
// that do not hold (all of them when each holds, as under a ! or an ||), as
// "speedup = 1.23, wanted >= 1.5", separated by "; ". shown lists the
// values it printed (Format), so the check's own values need not repeat them.
func explain(cmps []stages.Comparison) (text string, shown []string) {
	var broken []stages.Comparison
	for _, c := range cmps {
		if !c.Holds {
			broken = append(broken, c)
		}
	}
	if len(broken) == 0 {
		broken = cmps
	}
	parts := make([]string, 0, len(broken))
	for _, c := range broken {
		parts = append(parts, describeComparison(c))
		shown = append(shown, Format(c.LeftValue), Format(c.RightValue))
	}
	return strings.Join(parts, "; "), shown
}

// describeComparison puts the side that is not a literal first, so that
// "1.5 <= x" reads as "x = 1.23, wanted >= 1.5"; a side that is a name
// shows its value after it ("wanted >= params.min = 1.5").
func describeComparison(c stages.Comparison) string {
	left, lv, op, right, rv := c.Left, c.LeftValue, c.Op, c.Right, c.RightValue
	if literal(left) && !literal(right) {
		left, lv, right, rv = right, rv, left, lv
		op = flipped[op]
	}
	want := Format(rv)
	if !literal(right) {
		want = right + " = " + want
	}
	return shortName(left) + " = " + Format(lv) + ", wanted " + op + " " + want
}

// shortName drops the "stages.<id>.outputs." of an output reference:
// `stages.bench.outputs.speedup["int8"]` reads as `speedup["int8"]`.
func shortName(src string) string {
	rest, ok := strings.CutPrefix(src, "stages.")
	if !ok {
		return src
	}
	if i := strings.Index(rest, ".outputs."); i > 0 && !strings.ContainsAny(rest[:i], " ()") {
		return rest[i+len(".outputs."):]
	}
	return src
}

// literal reports whether an operand is written as a constant.
func literal(src string) bool {
	switch src {
	case "true", "false", "null":
		return true
	}
	if _, err := strconv.ParseFloat(src, 64); err == nil {
		return true
	}
	return strings.HasPrefix(src, `"`) && strings.HasSuffix(src, `"`) && !strings.Contains(src, "${")
}
