// Package builtin wires every built-in stage into a registry.
package builtin

import (
	"fmt"
	"strings"

	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/assert"
	"github.com/sentinelzer0/szrun/stages/benchmark"
	"github.com/sentinelzer0/szrun/stages/compare"
	"github.com/sentinelzer0/szrun/stages/fp16"
	"github.com/sentinelzer0/szrun/stages/inspect"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/optimize"
	"github.com/sentinelzer0/szrun/stages/prune"
	"github.com/sentinelzer0/szrun/stages/quantize"
	"github.com/sentinelzer0/szrun/stages/report"
	"github.com/sentinelzer0/szrun/stages/selectstage"
	"github.com/sentinelzer0/szrun/stages/shell"
)

// Registry returns a registry holding every built-in stage.
func Registry() *stages.Registry {
	r := stages.NewRegistry()
	r.MustRegister(shell.New())
	r.MustRegister(inspect.New())
	r.MustRegister(optimize.New())
	r.MustRegister(fp16.New())
	r.MustRegister(compare.New())
	r.MustRegister(prune.New())
	r.MustRegister(quantize.New())
	r.MustRegister(benchmark.New())
	r.MustRegister(assert.New())
	r.MustRegister(selectstage.New())
	r.MustRegister(report.New())
	return r
}

// Reference renders docs/stages.md: every built-in stage's parameters,
// outputs and documentation.
func Reference() string {
	var b strings.Builder
	b.WriteString("# Built-in stages\n\n")
	b.WriteString("Generated from the stages' own specs (`go test ./stages/builtin -update`); `szrun stages describe NAME` prints the same. Plugin stages are described by their plugins: `szrun stages` lists them.\n\n")
	r := Registry()
	for _, name := range r.Names() {
		s, _ := r.Lookup(name)
		fmt.Fprintf(&b, "- [`%s`](#%s): %s\n", name, name, s.Spec().Summary)
	}
	b.WriteString("\n")
	b.WriteString(evaluate.VocabularyDoc)
	for _, name := range r.Names() {
		s, _ := r.Lookup(name)
		b.WriteString(s.Spec().Markdown())
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}
