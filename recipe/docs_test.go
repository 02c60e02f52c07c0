package recipe

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocs keeps docs/recipes.md honest: every function is listed and every
// complete YAML example parses.
func TestDocs(t *testing.T) {
	data, err := os.ReadFile("../docs/recipes.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, f := range Functions() {
		if !strings.Contains(doc, "`"+f+"`") && !strings.Contains(doc, "`"+f+"(") {
			t.Errorf("docs/recipes.md does not list function %s", f)
		}
	}
	blocks := regexp.MustCompile("(?s)```yaml[^\n]*\n(.*?)```").FindAllStringSubmatch(doc, -1)
	n := 0
	for _, b := range blocks {
		src := b[1]
		if !strings.HasPrefix(src, "version: 1") {
			continue
		}
		n++
		if _, err := Parse("docs-example.yaml", []byte(src)); err != nil {
			t.Errorf("example does not parse:\n%v\n%s", err, src)
		}
	}
	if n == 0 {
		t.Error("no complete example found")
	}
}

// TestDocsAnchors parses the anchors example with a header added.
func TestDocsAnchors(t *testing.T) {
	r := mustParse(t, `version: 1
params: {model: m.onnx, calib: c.npz}
stages:
  q8: &quant
    uses: quantize
    timeout: 20m
    with: &qwith { model: "${{ params.model }}", mode: int8-static, calibration: { data: "${{ params.calib }}" } }
  q8-pc:
    <<: *quant
    with: { <<: *qwith, per_channel: true }
`)
	s := r.Stage("q8-pc")
	if s.Uses != "quantize" || s.Timeout.Minutes() != 20 {
		t.Errorf("merged stage: %+v", s)
	}
	if got := strings.Join(s.With.Keys(), ","); got != "model,mode,calibration,per_channel" {
		t.Errorf("with keys = %s", got)
	}
}
