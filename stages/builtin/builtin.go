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
	"github.com/sentinelzer0/szrun/stages/internal/transform"
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
	b.WriteString(vocabulary(r))
	b.WriteString(evaluate.VocabularyDoc)
	b.WriteString("## Relative error\n\n" + evaluate.RelErrorDoc + "\n\n")
	b.WriteString("## Tolerance\n\n" + evaluate.AllCloseDoc + "\n\n")
	b.WriteString(transform.Doc)
	for _, name := range r.Names() {
		s, _ := r.Lookup(name)
		b.WriteString(s.Spec().Markdown())
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// vocabularyWords are the names that mean the same in every stage, with
// their meaning; which stages use them, and their old names, come from the
// specs.
var vocabularyWords = []struct{ name, meaning string }{
	{"data", "the data models run on to be verified or compared: .npz (or a folder of .npy, or of .npz) with arrays named like the model inputs, and optional int `labels`"},
	{"shapes", "random inputs: input name -> shape, for inputs with dynamic dimensions"},
	{"samples", "random inputs: how many samples"},
	{"atol", "absolute tolerance of the rule \\|candidate - reference\\| <= atol + rtol * max(\\|reference\\|, the output's RMS) (see Tolerance at the top)"},
	{"rtol", "relative tolerance of the same rule"},
	{"max_rel_error", "largest max\\|candidate - reference\\| / max\\|reference\\| per output"},
	{"exclude", "node (or weight) names the transform leaves alone"},
	{"threads", "ONNX Runtime intra-op threads; 0 = its default"},
	{"providers", "ONNX Runtime execution providers in preference order: cpu, cuda, tensorrt"},
	{"accuracy_before", "(an output) the original model's top-1 accuracy, before the transform"},
}

// vocabulary renders the shared names: meaning, the stages that take them
// (as a parameter, a field of one, or an output) and old names that still
// work for one release.
func vocabulary(r *stages.Registry) string {
	var b strings.Builder
	b.WriteString("## Vocabulary\n\nOne idea has one name in every stage, declared once in a shared parameter group, so it reads and behaves the same everywhere. An old name still works for one release: `szrun validate` and `szrun run` warn \"renamed to NAME\", and cache keys stay the same.\n\n")
	b.WriteString("| name | meaning | where | old names |\n| --- | --- | --- | --- |\n")
	for _, w := range vocabularyWords {
		var where, old []string
		for _, name := range r.Names() {
			st, _ := r.Lookup(name)
			spec := st.Spec()
			var walk func(prefix string, ps []stages.Param)
			walk = func(prefix string, ps []stages.Param) {
				for _, p := range ps {
					if p.Name == w.name {
						where = append(where, "`"+name+"`"+inField(prefix))
						for _, a := range p.Aliases {
							old = append(old, "`"+prefix+a+"` ("+name+")")
						}
					}
					walk(prefix+p.Name+".", p.Fields)
				}
			}
			walk("", spec.Params)
			if _, ok := spec.Output(w.name); ok {
				where = append(where, "`"+name+"` (output)")
			}
		}
		if w.name == "accuracy_before" {
			old = append(old, "`accuracy_fp32` (quantize output)")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", w.name, w.meaning, strings.Join(where, ", "), strings.Join(old, ", "))
	}
	b.WriteString("\n")
	return b.String()
}

func inField(prefix string) string {
	if prefix == "" {
		return ""
	}
	return " (" + strings.TrimSuffix(prefix, ".") + ")"
}
