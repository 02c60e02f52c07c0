package recipe

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// FuzzParse feeds arbitrary bytes through everything a CLI run does before
// executing: Parse, Validate, Instances and a Partial evaluation of every
// value. None of it may panic.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*.yaml", "testdata/invalid/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("version: 1\nstages: {a: {uses: shell, with: {run: \"${{ {a = {b = \\\"}}\\\"}} }}\"}}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Parse in testdata/valid so relative paths resolve somewhere real.
		r, err := Parse("testdata/valid/fuzz.yaml", data)
		if err != nil {
			if _, ok := err.(ErrorList); !ok {
				t.Fatalf("Parse returned %T, want ErrorList", err)
			}
			if r != nil {
				_ = r.Validate(specs) // a broken recipe is still validated
			}
			return
		}
		_ = r.Validate(specs)
		insts, err := r.Instances()
		if err != nil {
			return
		}
		for _, in := range insts {
			scope := &Scope{Params: r.ParamValues(), Matrix: in.Matrix, Partial: true, Stages: map[string]map[string]cty.Value{}}
			_, _ = in.Stage.With.Eval(scope)
			_, _ = in.Stage.If.Eval(scope)
		}
		_ = r.Override([]string{"a=1", "b=[1]"})
	})
}
