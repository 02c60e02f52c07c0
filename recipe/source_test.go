package recipe

import "testing"

func TestValueSource(t *testing.T) {
	r, err := Parse("s.yaml", []byte(`version: 1
stages:
  a:
    uses: shell
    if: ${{ gpu.count > 0 }}
    with: { run: "echo ${{ params.x }} and $HOME" }
params: { x: 1 }
`))
	if err != nil {
		t.Fatal(err)
	}
	sd := r.Stage("a")
	if got := sd.If.Source(); got != "${{ gpu.count > 0 }}" {
		t.Errorf("if source = %q", got)
	}
	if got := sd.With.Field("run").Source(); got != "echo ${{ params.x }} and $HOME" {
		t.Errorf("run source = %q", got)
	}
	if got := sd.With.Source(); got != "" {
		t.Errorf("map source = %q, want empty", got)
	}
}
