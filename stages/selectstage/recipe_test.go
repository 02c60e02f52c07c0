package selectstage_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/stages/builtin"
	"github.com/sentinelzer0/szrun/stages/selectstage"
)

// TestRecipe runs testdata/recipe.yaml, the example the stage's doc points
// at, with the real quantize, benchmark, compare, select, report and assert
// stages: real files in the formats those stages write.
func TestRecipe(t *testing.T) {
	testenv.RequireORT(t)
	recipe, err := filepath.Abs("testdata/recipe.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, err := engine.Run(context.Background(), engine.Options{
		Recipe: recipe, Catalog: &engine.StageCatalog{Builtin: builtin.Registry()}, Params: []string{"iterations=10"},
		CacheDir: filepath.Join(dir, "cache"), StateDir: filepath.Join(dir, "state"), OutDir: filepath.Join(dir, "out"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != engine.StatusSucceeded {
		for _, s := range res.Stages {
			t.Logf("%s: %s %s", s.Instance, s.Status, s.Error)
		}
		t.Fatalf("run %s", res.Status)
	}
	var outs map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "out", "outputs.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &outs); err != nil {
		t.Fatal(err)
	}
	selected, _ := outs["selected"].(string)
	if selected != "fp32" && !strings.HasPrefix(selected, "int8-") {
		t.Errorf("selected %q", selected)
	}
	if reason, _ := outs["reason"].(string); !strings.HasPrefix(reason, selected+": selected") || strings.Count(reason, "\n") != 2 {
		t.Errorf("reason:\n%s", reason)
	}
	// The selected model file is the one the selection names.
	sel := readSelection(t, res)
	if sel.Selected != selected || len(sel.Candidates) != 3 {
		t.Fatalf("selection.json: %+v", sel)
	}
	for _, v := range sel.Candidates {
		if v.Name == selected {
			want, _ := os.ReadFile(v.Model)
			got, _ := os.ReadFile(filepath.Join(dir, "out", "model.onnx"))
			if len(want) == 0 || string(got) != string(want) {
				t.Errorf("out/model.onnx is not %s's model %s", selected, v.Model)
			}
		}
	}
	html, err := os.ReadFile(filepath.Join(dir, "out", "report.html"))
	if err != nil || strings.Count(string(html), "<svg") != 4 {
		t.Errorf("report.html: %v, %d SVGs", err, strings.Count(string(html), "<svg"))
	}
}

func readSelection(t *testing.T, res *engine.Result) *selectstage.Selection {
	t.Helper()
	for _, s := range res.Stages {
		if s.Instance == "pick" {
			b, err := os.ReadFile(s.Outputs["report"].(string))
			if err != nil {
				t.Fatal(err)
			}
			var sel selectstage.Selection
			if err := json.Unmarshal(b, &sel); err != nil {
				t.Fatal(err)
			}
			return &sel
		}
	}
	t.Fatal("no pick stage")
	return nil
}
