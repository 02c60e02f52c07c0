package recipe

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/sentinelzer0/szrun/stages"
)

// compareOps names HCL's comparison operators.
var compareOps = map[*hclsyntax.Operation]string{
	hclsyntax.OpEqual:              "==",
	hclsyntax.OpNotEqual:           "!=",
	hclsyntax.OpLessThan:           "<",
	hclsyntax.OpLessThanOrEqual:    "<=",
	hclsyntax.OpGreaterThan:        ">",
	hclsyntax.OpGreaterThanOrEqual: ">=",
}

// Explain returns the source of every value of v that is exactly one ${{ }}
// expression, with, for comparisons ("${{ stages.bench.outputs.speedup >=
// 1.5 }}"), both sides evaluated in s, looking through && || ! and
// parentheses. The result is keyed by parameter path as ParamError paths are
// written ("checks[0].that"). Only comparisons' sides are evaluated.
func (v *Value) Explain(s *Scope) map[string]stages.Explanation {
	if s == nil {
		s = &Scope{}
	}
	ev := newEvaluator(s, v.recipeDir())
	ctx := ev.context(v)
	out := map[string]stages.Explanation{}
	ev.explainAt(v, "", ctx, out)
	return out
}

func (ev *evaluator) explainAt(v *Value, path string, ctx *hcl.EvalContext, out map[string]stages.Explanation) {
	switch v.Kind() {
	case List:
		for i, it := range v.items {
			ev.explainAt(it, fmt.Sprintf("%s[%d]", path, i), ctx, out)
		}
	case Map:
		for i, k := range v.keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			ev.explainAt(v.vals[i], p, ctx, out)
		}
	case Template:
		if !v.tmpl.single {
			return
		}
		for i := range v.tmpl.parts {
			p := &v.tmpl.parts[i]
			if p.expr == nil {
				continue
			}
			var cmps []stages.Comparison
			ev.comparisons(p, p.expr, ctx, &cmps)
			out[path] = stages.Explanation{Source: strings.TrimSpace(p.src), Comparisons: cmps}
		}
	}
}

// comparisons appends the comparisons inside e with their sides' values.
func (ev *evaluator) comparisons(p *part, e hclsyntax.Expression, ctx *hcl.EvalContext, out *[]stages.Comparison) {
	switch x := e.(type) {
	case *hclsyntax.ParenthesesExpr:
		ev.comparisons(p, x.Expression, ctx, out)
	case *hclsyntax.UnaryOpExpr:
		if x.Op == hclsyntax.OpLogicalNot {
			ev.comparisons(p, x.Val, ctx, out)
		}
	case *hclsyntax.BinaryOpExpr:
		if x.Op == hclsyntax.OpLogicalAnd || x.Op == hclsyntax.OpLogicalOr {
			ev.comparisons(p, x.LHS, ctx, out)
			ev.comparisons(p, x.RHS, ctx, out)
			return
		}
		op, ok := compareOps[x.Op]
		if !ok {
			return
		}
		holds, _ := ev.goValue(x, ctx).(bool)
		*out = append(*out, stages.Comparison{
			Left: p.text(x.LHS), Op: op, Right: p.text(x.RHS),
			LeftValue: ev.goValue(x.LHS, ctx), RightValue: ev.goValue(x.RHS, ctx),
			Holds: holds,
		})
	}
}

// goValue evaluates e as plain Go; nil when it fails or is unknown.
func (ev *evaluator) goValue(e hclsyntax.Expression, ctx *hcl.EvalContext) any {
	x, diags := evalBudgeted(e, ctx, &ev.meter)
	if diags.HasErrors() {
		return nil
	}
	g, ok := ToGo(x)
	if !ok {
		return nil
	}
	return g
}

// text returns the source of e, a sub-expression of p.
func (p *part) text(e hclsyntax.Expression) string {
	r := e.Range()
	if r.Start.Byte < 0 || r.End.Byte > len(p.src) || r.Start.Byte > r.End.Byte {
		return ""
	}
	return strings.TrimSpace(p.src[r.Start.Byte:r.End.Byte])
}
