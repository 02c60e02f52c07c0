package assert

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sentinelzer0/szrun/stages"
)

// Check is one parsed check.
type Check struct {
	Message string
	That    bool
	Values  map[string]any
	// Explanation is what `that` compared, when the recipe wrote it as a
	// ${{ }} comparison (the engine's Input.Explain); nil otherwise.
	Explanation *stages.Explanation
}

// Result is what the `checks` output says about one check.
type Result struct {
	Message string         `json:"message"`
	Passed  bool           `json:"passed"`
	Detail  string         `json:"detail"`
	Values  map[string]any `json:"values,omitempty"`
	// Expression is a failed check's condition as written ("${{ ... }}").
	// Passing checks leave it out, so a cached pass reads as before.
	Expression string `json:"expression,omitempty"`
}

// FailedError is returned when a check does not hold. Values holds the value
// outputs the stage would have had, so that a caller (the engine, for JUnit and
// run.json) can still show every check's result.
type FailedError struct {
	Failed  []Result
	Total   int
	Outputs map[string]any
}

func (e *FailedError) Error() string {
	names := make([]string, len(e.Failed))
	var b strings.Builder
	for i, r := range e.Failed {
		names[i] = r.Message
		b.WriteString("\n  " + r.Message)
		if r.Detail != "" {
			b.WriteString(" (" + r.Detail + ")")
		}
		if r.Expression != "" {
			b.WriteString("\n    " + r.Expression)
		}
	}
	// The first line names the failed checks: it is what a table row or a
	// JUnit message shows.
	return fmt.Sprintf("assert: %d of %d checks failed: %s%s", len(e.Failed), e.Total, strings.Join(names, "; "), b.String())
}

// PartialValues returns the value outputs of the failed stage (the `checks` list).
func (e *FailedError) PartialValues() map[string]any { return e.Outputs }

// Run evaluates every check; it fails with a *FailedError when any is false.
func (s *Stage) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	var p Params
	if err := in.Decode(&p); err != nil {
		return nil, fmt.Errorf("assert: %w", err)
	}
	checks, err := Parse(p.Checks)
	if err != nil {
		return nil, fmt.Errorf("assert: %w", err)
	}
	for i := range checks {
		for _, path := range []string{fmt.Sprintf("checks[%d].that", i), fmt.Sprintf("checks[%d]", i)} {
			if ex, ok := in.Explain[path]; ok {
				checks[i].Explanation = &ex
				break
			}
		}
	}
	results := Evaluate(checks)
	list := make([]any, len(results))
	var failed []Result
	for i, r := range results {
		list[i] = r.asMap()
		if !r.Passed {
			failed = append(failed, r)
			if in.Log != nil {
				kv := []any{"check", r.Message, "values", r.Detail}
				if r.Expression != "" {
					kv = append(kv, "condition", r.Expression)
				}
				in.Log.Error("check failed", kv...)
			}
		} else if in.Log != nil {
			in.Log.Info("check passed", "check", r.Message)
		}
	}
	values := map[string]any{"checks": list, "passed": int64(len(results) - len(failed))}
	if len(failed) > 0 {
		return nil, &FailedError{Failed: failed, Total: len(results), Outputs: values}
	}
	return &stages.Output{Values: values}, nil
}

// Parse checks the `checks` parameter: every element a bool or a map with a bool
// `that`, an optional string `message` and an optional map `values`. Errors name
// the element ("checks[2].that").
func Parse(list []any) ([]Check, error) {
	if len(list) == 0 {
		return nil, stages.Errorf("checks", "the list is empty; give at least one check")
	}
	out := make([]Check, 0, len(list))
	for i, e := range list {
		c, err := parseOne(fmt.Sprintf("checks[%d]", i), e)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// parseOne reads one element of `checks`.
func parseOne(where string, e any) (Check, *stages.ParamError) {
	c := Check{Message: where}
	switch t := e.(type) {
	case bool:
		c.That = t
	case map[string]any:
		for _, k := range sortedKeys(t) {
			if !slices.Contains([]string{"that", "message", "values"}, k) {
				msg := fmt.Sprintf("unknown key %q; valid keys: message, that, values", k)
				if near := stages.Nearest(k, []string{"that", "message", "values"}); near != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", near)
				}
				return c, stages.Errorf(where, "%s", msg)
			}
		}
		that, ok := t["that"]
		if !ok {
			return c, stages.Errorf(where, "`that` is missing")
		}
		b, ok := that.(bool)
		if !ok {
			return c, stages.Errorf(where+".that", "expected a bool (a comparison such as ${{ x >= 1.5 }}), got %s", describe(that))
		}
		c.That = b
		if m, ok := t["message"]; ok && m != nil {
			s, ok := m.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return c, stages.Errorf(where+".message", "expected a non-empty string, got %s", describe(m))
			}
			c.Message = strings.TrimSpace(s)
		}
		if v, ok := t["values"]; ok && v != nil {
			vm, ok := v.(map[string]any)
			if !ok {
				return c, stages.Errorf(where+".values", "expected a map name -> value, got %s", describe(v))
			}
			c.Values = vm
		}
	default:
		return c, stages.Errorf(where, "expected a map {that, message, values} or a bool, got %s", describe(e))
	}
	return c, nil
}

// Evaluate turns checks into results. The detail lists the check's values;
// a failed check's detail starts with what its condition compared
// ("speedup = 1.23, wanted >= 1.5") and its Expression is the condition.
func Evaluate(checks []Check) []Result {
	out := make([]Result, len(checks))
	for i, c := range checks {
		r := Result{Message: c.Message, Passed: c.That, Values: c.Values}
		var parts []string
		var shown []string // values the comparisons already show
		if !c.That && c.Explanation != nil {
			var cmp string
			cmp, shown = explain(c.Explanation.Comparisons)
			if cmp != "" {
				parts = append(parts, cmp)
			}
			r.Expression = "${{ " + c.Explanation.Source + " }}"
		}
		var vals []string
		for _, k := range sortedKeys(c.Values) {
			if v := Format(c.Values[k]); !slices.Contains(shown, v) {
				vals = append(vals, k+" = "+v)
			}
		}
		if len(vals) > 0 {
			parts = append(parts, strings.Join(vals, ", "))
		}
		r.Detail = strings.Join(parts, "; ")
		if r.Detail == "" && !c.That {
			r.Detail = "condition is false"
		}
		out[i] = r
	}
	return out
}

func (r Result) asMap() map[string]any {
	m := map[string]any{"message": r.Message, "passed": r.Passed, "detail": r.Detail}
	if len(r.Values) > 0 {
		m["values"] = r.Values
	}
	if r.Expression != "" {
		m["expression"] = r.Expression
	}
	return m
}

// Format renders a value for a failure message: numbers without noise (1.21,
// not 1.2100000000000002), strings quoted, lists and maps as JSON.
func Format(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return strconv.FormatFloat(t, 'g', -1, 64)
		}
		return strconv.FormatFloat(t, 'g', 6, 64)
	case int64:
		return strconv.FormatInt(t, 10)
	case int:
		return strconv.Itoa(t)
	case bool:
		return strconv.FormatBool(t)
	case string:
		return strconv.Quote(t)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func describe(v any) string {
	switch s := v.(type) {
	case nil:
		return "null"
	case string:
		return "the string " + strconv.Quote(s)
	case float64, int64, int:
		return "the number " + Format(v)
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	case bool:
		return "a bool"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
