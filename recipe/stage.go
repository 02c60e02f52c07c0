package recipe

import (
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// EvalIf evaluates the stage's `if:`; a stage without one runs. known is
// false when the condition depends on values not known yet (a Partial scope
// at plan time); run is then true, since the stage may run.
func (s *StageDecl) EvalIf(scope *Scope) (run, known bool, err error) {
	if s.If == nil {
		return true, true, nil
	}
	v, err := s.If.Eval(scope)
	if err != nil {
		return false, false, err
	}
	if !v.IsKnown() {
		return true, false, nil
	}
	b, cerr := convert.Convert(v, cty.Bool)
	if cerr != nil || b.IsNull() {
		return false, true, ErrorList{{Pos: s.If.Pos(), Msg: "if must give true or false, got a " + typeName(v.Type())}}
	}
	return b.True(), true, nil
}
