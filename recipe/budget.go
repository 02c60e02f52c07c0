package recipe

import (
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// Every ${{ }} expression is evaluated under a budget, so a recipe cannot
// make `szrun plan` or `validate` run for minutes or eat gigabytes (a nested
// `for` over range() did: 30 s and 1.2 GB). Two limits:
//
//   - elements: what the expression's function calls produce, counted as
//     list, set, map and object elements and string kilobytes; range() is
//     refused before it allocates.
//   - time: the expression as a whole, including `for` loops that call no
//     function.
//
// Either limit is one error at the expression's position.
const (
	// MaxExprElements is the element budget of one expression.
	MaxExprElements = 100_000
	// MaxExprTime is the time budget of one expression.
	MaxExprTime = 2 * time.Second
)

// budget is one expression's evaluation budget.
type budget struct {
	left     atomic.Int64
	deadline time.Time
}

func newBudget() *budget {
	b := &budget{deadline: time.Now().Add(MaxExprTime)}
	b.left.Store(MaxExprElements)
	return b
}

// meter charges function calls to the budget of the expression being
// evaluated (cur, replaced per expression), so an evaluator wraps its
// functions once, not once per expression.
type meter struct{ cur atomic.Pointer[budget] }

// metered are the functions that can make large values from small inputs,
// the ones charged to the budget; the others cost O(input) and are left as
// they are (the time budget still covers them).
var metered = map[string]bool{
	"range": true, "formatlist": true, "flatten": true, "concat": true, "chunklist": true,
	"split": true, "regexall": true, "jsondecode": true, "merge": true, "zipmap": true,
	"format": true, "join": true, "replace": true, "regexreplace": true, "indent": true,
	"distinct": true, "sort": true, "keys": true, "values": true, "tolist": true, "toset": true, "tomap": true,
}

// errBudget is the one message for either limit, so the error a recipe
// gets does not depend on how fast the machine is.
var errBudget = fmt.Errorf("expression exceeds its evaluation budget (%d elements made by function calls, %s); simplify it", MaxExprElements, MaxExprTime)

func (b *budget) spend(n int64) error {
	if b.left.Add(-n) < 0 || time.Now().After(b.deadline) {
		return errBudget
	}
	return nil
}

// overBudget reports whether diags say the budget was exceeded.
func overBudget(diags hcl.Diagnostics) bool {
	for _, d := range diags {
		if strings.Contains(d.Summary, errBudget.Error()) || strings.Contains(d.Detail, errBudget.Error()) {
			return true
		}
	}
	return false
}

// wrap returns fns with the calls of metered functions charged to m.
func (m *meter) wrap(fns map[string]function.Function) map[string]function.Function {
	out := make(map[string]function.Function, len(fns))
	for name, f := range fns {
		if metered[name] {
			f = m.wrapOne(name, f)
		}
		out[name] = f
	}
	return out
}

func (m *meter) wrapOne(name string, f function.Function) function.Function {
	spec := &function.Spec{
		Description: f.Description(),
		Params:      f.Params(),
		VarParam:    f.VarParam(),
		Type: func(args []cty.Value) (cty.Type, error) {
			return f.ReturnTypeForValues(args)
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			b := m.cur.Load()
			if b == nil {
				return f.Call(args)
			}
			if name == "range" {
				if err := b.spend(rangeLen(args)); err != nil {
					return cty.DynamicVal, err
				}
			}
			if err := b.spend(1); err != nil {
				return cty.DynamicVal, err
			}
			v, err := f.Call(args)
			if err != nil {
				return v, err
			}
			if name != "range" {
				if err := b.spend(size(v)); err != nil {
					return cty.DynamicVal, err
				}
			}
			return v, nil
		},
	}
	return function.New(spec)
}

// rangeLen is how many elements range(args...) would make (an upper bound;
// bad arguments give 0 and range reports them itself).
func rangeLen(args []cty.Value) int64 {
	nums := make([]*big.Float, 0, 3)
	for _, a := range args {
		if !a.IsKnown() || a.IsNull() || a.Type() != cty.Number {
			return 0
		}
		nums = append(nums, a.AsBigFloat())
	}
	start, step := big.NewFloat(0), big.NewFloat(1)
	var limit *big.Float
	switch len(nums) {
	case 1:
		limit = nums[0]
	case 2:
		start, limit = nums[0], nums[1]
	case 3:
		start, limit, step = nums[0], nums[1], nums[2]
	default:
		return 0
	}
	if step.Sign() == 0 {
		return 0
	}
	n := new(big.Float).Quo(new(big.Float).Sub(limit, start), step)
	if n.Sign() <= 0 {
		return 0
	}
	if !n.IsInt() {
		n.Add(n, big.NewFloat(1))
	}
	if n.Cmp(big.NewFloat(MaxExprElements+1)) > 0 {
		return MaxExprElements + 1
	}
	c, _ := n.Int64()
	return c
}

// size counts a value's elements, deeply, and its strings by the kilobyte.
func size(v cty.Value) int64 {
	if !v.IsKnown() || v.IsNull() {
		return 0
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return int64(len(v.AsString()))/1024 + 1
	case t.IsListType() || t.IsSetType() || t.IsTupleType() || t.IsMapType() || t.IsObjectType():
		n := int64(0)
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			n += 1 + size(e)
			if n > MaxExprElements {
				return n
			}
		}
		return n
	}
	return 1
}

// evalBudgeted evaluates expr (whose ctx holds functions wrapped by m) with
// its function calls under a fresh budget and the whole evaluation under
// MaxExprTime. A timed-out evaluation is left
// running in its goroutine (HCL cannot be interrupted); its result is
// dropped. The CLI exits on the error, which ends it.
func evalBudgeted(expr hclsyntax.Expression, ctx *hcl.EvalContext, m *meter) (cty.Value, hcl.Diagnostics) {
	m.cur.Store(newBudget())
	c := *ctx
	type result struct {
		v     cty.Value
		diags hcl.Diagnostics
	}
	done := make(chan result, 1)
	go func() {
		v, d := expr.Value(&c)
		done <- result{v, d}
	}()
	timer := time.NewTimer(MaxExprTime + 100*time.Millisecond)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.v, r.diags
	case <-timer.C:
		rng := expr.Range()
		return cty.DynamicVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: errBudget.Error(), Subject: &rng}}
	}
}
