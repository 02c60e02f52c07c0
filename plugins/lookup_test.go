package plugins

import (
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/stages"
)

// TestPick: plugin:NAME names the only stage, the stage called NAME, or the
// first stage when it is called NAME-something (plugin:torch is torch-export
// although the plugin also serves torch-prune); otherwise it is ambiguous.
func TestPick(t *testing.T) {
	specs := func(names ...string) []stages.Spec {
		var out []stages.Spec
		for _, n := range names {
			out = append(out, stages.Spec{Name: n})
		}
		return out
	}
	cases := []struct {
		plugin, stage string
		specs         []stages.Spec
		want, err     string
	}{
		{"hello", "", specs("greet"), "greet", ""},
		{"tensorrt", "", specs("calibrate", "tensorrt"), "tensorrt", ""},
		{"torch", "", specs("torch-export", "torch-prune"), "torch-export", ""},
		{"torch", "torch-prune", specs("torch-export", "torch-prune"), "torch-prune", ""},
		{"mix", "", specs("a", "mix-b"), "", "the plugin has several stages (a, mix-b): write plugin:mix/STAGE"},
		{"torch", "torch-prun", specs("torch-export", "torch-prune"), "", `did you mean "torch-prune"?`},
	}
	for _, c := range cases {
		p := &Plugin{Name: c.plugin, Specs: c.specs}
		got, err := p.pick(c.stage)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s/%s: error %v, want %q", c.plugin, c.stage, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s/%s: %v", c.plugin, c.stage, err)
		case c.err == "" && got.Name != c.want:
			t.Errorf("%s/%s: picked %s, want %s", c.plugin, c.stage, got.Name, c.want)
		}
	}
}
