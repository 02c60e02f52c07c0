package recipe

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestUnquotedConditionalWarns: a plain value with ": " inside ${{ }} is still
// read (szrun quotes the line itself), with a warning at the value's position
// that says how to make the file YAML for every other tool.
func TestUnquotedConditionalWarns(t *testing.T) {
	src := "version: 1\nparams: {a: x.onnx, b: y.onnx, big: true}\nstages:\n  s:\n    uses: inspect\n    with:\n      model: ${{ params.big ? params.a : params.b }}\n"
	r, err := Parse("r.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	w := r.Warnings()
	if len(w) != 1 || !strings.HasPrefix(w[0].Error(), "r.yaml:7:14: ") || !strings.Contains(w[0].Error(), "quote this value") {
		t.Fatalf("warnings %v; want one at r.yaml:7:14 saying to quote the value", w)
	}
	if got := r.Stage("s").With.Field("model"); got == nil || !strings.Contains(got.Source(), "params.big ? params.a : params.b") {
		t.Errorf("model = %v", got)
	}
	quoted := strings.Replace(src, "model: ${{ params.big ? params.a : params.b }}", "model: '${{ params.big ? params.a : params.b }}'", 1)
	if r, err := Parse("r.yaml", []byte(quoted)); err != nil || len(r.Warnings()) != 0 {
		t.Errorf("quoted: %v, warnings %v", err, r.Warnings())
	}
}

// TestShippedYAMLIsPortable: every shipped recipe, example and recipe snippet
// in README.md and docs/ is YAML to a standard parser as written (yaml.v3
// without szrun's quoting, no ${{ split into a map key), and szrun reads the
// complete recipes among them without a portability warning.
func TestShippedYAMLIsPortable(t *testing.T) {
	var files []string
	for _, pat := range []string{"../recipes/*.yaml", "../examples/*/*/*.yaml", "../examples/*/*.yaml", "../zoo/*.yaml", "../stages/*/testdata/*.yaml"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	type doc struct{ name, src string }
	var docs []doc
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc{f, string(b)})
	}
	mds, _ := filepath.Glob("../docs/*.md")
	block := regexp.MustCompile("(?s)```ya?ml[^\n]*\n(.*?)```")
	for _, md := range append(mds, "../README.md") {
		b, err := os.ReadFile(md)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range block.FindAllStringSubmatch(string(b), -1) {
			docs = append(docs, doc{fmt.Sprintf("%s yaml block %d", md, i+1), m[1]})
		}
	}
	if len(docs) < 10 {
		t.Fatalf("found only %d YAML files and snippets", len(docs))
	}
	for _, d := range docs {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(d.src), &n); err != nil {
			t.Errorf("%s: not YAML to a standard parser: %v", d.name, err)
			continue
		}
		if l := splitExprKey(&n, 0); l > 0 {
			t.Errorf("%s: line %d: a standard parser splits this ${{ }} at \": \" into a map key; quote the value", d.name, l)
		}
		if strings.HasPrefix(d.src, "version: 1") || strings.Contains(d.src, "\nversion: 1") {
			if r, _ := Parse(d.name, []byte(d.src)); r != nil {
				for _, w := range r.Warnings() {
					if strings.Contains(w.Error(), "quote this value") {
						t.Errorf("%v", w)
					}
				}
			}
		}
	}
}
