package assert

import (
	"fmt"

	"github.com/sentinelzer0/szrun/stages"
)

// Stage is the `assert` stage.
type Stage struct{ stages.Typed[Params] }

// Params are the stage's parameters.
type Params struct {
	Checks []any `name:"checks" elem:"any" required:"true" doc:"the checks: each {that: BOOL, message: TEXT, values: {NAME: VALUE}} (or a bare bool)"`
}

// Check reads every check's shape (a condition not known yet passes).
func (p *Params) Check() error {
	if len(p.Checks) == 0 {
		return stages.Errorf("checks", "the list is empty; give at least one check")
	}
	var errs stages.ParamErrors
	for i, e := range p.Checks {
		if _, err := parseOne(fmt.Sprintf("checks[%d]", i), e); err != nil {
			errs = append(errs, err)
		}
	}
	return errs.Err()
}

var _ stages.Stage = (*Stage)(nil)

// New returns the assert stage.
func New() *Stage { return &Stage{} }

// Spec declares the stage. It is cached like any other: its result is a pure
// function of its parameters (the evaluated conditions and values), so a cached
// pass is still a pass, and a failure is never cached, so it fails again on every
// run until the inputs change.
func (s *Stage) Spec() stages.Spec {
	return stages.Spec{
		Name:    "assert",
		Version: "1",
		Summary: "Fail the run when a condition on upstream results does not hold.",
		Doc:     specDoc,
		Params:  stages.ParamsOf(Params{}),
		Outputs: []stages.OutputSpec{
			{Name: "checks", Kind: stages.ValueOutput, Type: "list",
				Doc: "one {message, passed, detail, values} per check (a failed one also expression: its condition); the engine writes one JUnit test case each"},
			{Name: "passed", Kind: stages.ValueOutput, Type: "number", Doc: "how many checks held"},
		},
	}
}

const specDoc = "Evaluates every check and fails when any of them is false, with one line per\n" +
	"broken check: its message and the values it names. All checks are evaluated\n" +
	"(not only up to the first failure), so one run shows everything that is wrong.\n" + `
**Checks.** Each element of ` + "`checks`" + ` is a map:

| key | | |
|---|---|---|
| ` + "`that`" + ` | required | a bool, normally ` + "`${{ expression }}`" + ` over upstream outputs |
| ` + "`message`" + ` | optional | what must hold, in words; the JUnit test case's name (default ` + "`checks[i]`" + `) |
| ` + "`values`" + ` | optional | name -> value shown beside the message when the check fails (and kept in the ` + "`checks`" + ` output) |

A bare bool is a check without message. ` + "`that`" + ` must be a bool: a number, string
or null (a ` + "`lookup`" + ` that found nothing) is a parameter error naming the check.

**Values.** A failed check whose ` + "`that`" + ` is one ` + "`${{ }}`" + ` comparison shows
both sides' values and the condition: the engine keeps each comparison's
operands (through ` + "`&&`" + `, ` + "`||`" + `, ` + "`!`" + ` and parentheses) for the stage to
explain a failure; a condition that compares nothing (a function call) shows
itself. ` + "`values`" + ` adds figures the condition does not name; a value
the comparison already shows is not repeated.

**Result.** The ` + "`checks`" + ` output lists ` + "`{message, passed, detail, values}`" + ` per check
(a failed one also has ` + "`expression`" + `, its condition). ` + "`szrun run --junit`" + ` makes
each check a test case, with the values in the failure's message, and no test
case for the stage itself, so one failed check is one failure; the GitHub step
summary lists every failed check the same way. A failing check fails the stage,
so the run exits 1. The stage is cached: the same inputs give the same answer.

Example:

` + "```yaml norun=\"a speed gate: tests never assert times\"" + `
stages:
  gate:
    uses: assert
    with:
      checks:
        - that: ${{ stages.bench.outputs.speedup["int8-static"] >= 1.5 }}
          message: static INT8 is at least 1.5x faster than fp32
          values:
            speedup: ${{ stages.bench.outputs.speedup["int8-static"] }}
        - that: ${{ stages.accuracy.outputs.accuracy_drop["int8-static"] <= 0.01 }}
          message: static INT8 loses at most one accuracy point
          values:
            drop: ${{ stages.accuracy.outputs.accuracy_drop["int8-static"] }}
` + "```" + `

Failure output:

` + "```" + `
assert: 1 of 2 checks failed: static INT8 is at least 1.5x faster than fp32
  static INT8 is at least 1.5x faster than fp32 (speedup["int8-static"] = 1.21, wanted >= 1.5)
    ${{ stages.bench.outputs.speedup["int8-static"] >= 1.5 }}
` + "```" + `
`
