package engine_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

// recipeSchema compiles `szrun schema` (the built-in stages) with a standard
// draft 2020-12 validator, the way an editor or a CI linter would.
func recipeSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	reg := builtin.Registry()
	var specs []stages.Spec
	for _, name := range reg.Names() {
		s, _ := reg.Lookup(name)
		specs = append(specs, s.Spec())
	}
	b, err := engine.Schema(specs)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(engine.SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(engine.SchemaID)
	if err != nil {
		t.Fatalf("szrun schema does not compile as draft 2020-12: %v", err)
	}
	return sch
}

// yamlAsJSON reads YAML with a standard parser and hands the validator the
// JSON data model (numbers as json.Number, as jsonschema expects).
func yamlAsJSON(t *testing.T, name string, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatalf("%s: not YAML to a standard parser: %v", name, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestShippedRecipesMatchTheSchema: every shipped recipe is valid against
// `szrun schema` to a standard JSON Schema validator, and the schema catches
// what szrun itself refuses, such as a misspelled parameter.
func TestShippedRecipesMatchTheSchema(t *testing.T) {
	sch := recipeSchema(t)
	var files []string
	for _, pat := range []string{"../recipes/*.yaml", "../examples/*/*/*.yaml", "../examples/*/*.yaml", "../zoo/*.yaml"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 6 {
		t.Fatalf("found only %v", files)
	}
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("version: 1")) {
			continue
		}
		checked++
		if err := sch.Validate(yamlAsJSON(t, f, b)); err != nil {
			t.Errorf("%s does not match szrun schema:\n%v", f, err)
		}
	}
	if checked < 6 {
		t.Errorf("checked only %d recipes of %v", checked, files)
	}

	good := "version: 1\nstages:\n  q:\n    uses: quantize\n    with:\n      model: m.onnx\n      per_channel: false\n"
	if err := sch.Validate(yamlAsJSON(t, "good", []byte(good))); err != nil {
		t.Fatalf("a valid quantize stage fails the schema: %v", err)
	}
	for name, bad := range map[string]string{
		"misspelled parameter": strings.Replace(good, "per_channel", "per_chanel", 1),
		"unknown stage key":    strings.Replace(good, "    with:", "    wiht: {}\n    with:", 1),
		"ill-typed parameter":  strings.Replace(good, "per_channel: false", "per_channel: [1]", 1),
	} {
		if err := sch.Validate(yamlAsJSON(t, name, []byte(bad))); err == nil {
			t.Errorf("%s: the schema accepts\n%s", name, bad)
		}
	}
}
