package engine

import (
	"encoding/json"
	"fmt"

	"github.com/sentinelzer0/szrun/stages"
)

// SchemaID is the $id of the recipe JSON Schema.
const SchemaID = "https://szrun.dev/schema/recipe-v1.json"

// Schema returns a JSON Schema (draft 2020-12) of the recipe format, with
// each stage's `with:` described from its Spec, so editors complete and
// check recipes.
func Schema(specs []stages.Spec) ([]byte, error) {
	expr := map[string]any{"type": "string", "pattern": `^\s*\$\{\{.*\}\}\s*$`, "description": "a ${{ expression }}"}
	usesEnum := []any{}
	var branches []any
	for _, s := range specs {
		usesEnum = append(usesEnum, s.Name)
		props := map[string]any{}
		var required []string
		for _, p := range s.Params {
			props[p.Name] = paramSchema(p, expr)
			if p.Required {
				required = append(required, p.Name)
			}
			for _, a := range p.Aliases {
				old := paramSchema(p, expr)
				old["deprecated"] = true
				old["description"] = fmt.Sprintf("renamed to %s; the old name works until the next release", p.Name)
				props[a] = old
			}
		}
		with := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			with["required"] = required
		}
		branches = append(branches, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"uses": map[string]any{"const": s.Name}}, "required": []string{"uses"}},
			"then": map[string]any{"properties": map[string]any{"with": with}},
		})
	}
	stage := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"uses":        map[string]any{"description": "the stage type: a built-in or plugin:NAME", "anyOf": []any{map[string]any{"enum": usesEnum}, map[string]any{"type": "string", "pattern": "^plugin:"}}},
			"description": map[string]any{"type": "string"},
			"with":        map[string]any{"type": "object", "description": "the stage's parameters"},
			"matrix":      map[string]any{"type": "object", "additionalProperties": map[string]any{"anyOf": []any{map[string]any{"type": "array"}, expr}}},
			"if":          map[string]any{"anyOf": []any{map[string]any{"type": "boolean"}, expr}},
			"needs":       map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}},
			"cache":       map[string]any{"type": "boolean"},
			"timeout":     map[string]any{"type": "string", "pattern": `^([0-9.]+(ns|us|µs|ms|s|m|h))+$`},
			"retries":     map[string]any{"type": "integer", "minimum": 0},
		},
		"required":             []string{"uses"},
		"additionalProperties": false,
		"allOf":                branches,
	}
	doc := map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  SchemaID,
		"title":                "szrun recipe",
		"type":                 "object",
		"required":             []string{"version", "stages"},
		"additionalProperties": false,
		"properties": map[string]any{
			"version":     map[string]any{"const": 1},
			"name":        map[string]any{"type": "string"},
			"description": map[string]any{"type": "string"},
			"params":      map[string]any{"type": "object", "description": "defaults, overridden with -p name=value"},
			"env":         map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "environment variables expressions may read (they go into cache keys)"},
			"stages":      map[string]any{"type": "object", "additionalProperties": stage},
			"outputs":     map[string]any{"type": "object", "additionalProperties": expr},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode schema: %w", err)
	}
	return append(b, '\n'), nil
}

func paramSchema(p stages.Param, expr map[string]any) map[string]any {
	var s map[string]any
	switch p.Type {
	case stages.String:
		s = map[string]any{"type": "string"}
		if len(p.Enum) > 0 {
			s["enum"] = p.Enum
		}
	case stages.Int:
		s = map[string]any{"type": "integer"}
	case stages.Float:
		s = map[string]any{"type": "number"}
	case stages.Bool:
		s = map[string]any{"type": "boolean"}
	case stages.Path, stages.Model, stages.Duration:
		s = map[string]any{"type": "string"}
	case stages.List:
		s = map[string]any{"type": "array"}
		if p.Elem != "" {
			s["items"] = paramSchema(stages.Param{Type: p.Elem}, expr)
		}
	case stages.Map:
		s = map[string]any{"type": "object"}
		if len(p.Fields) > 0 {
			props := map[string]any{}
			for _, f := range p.Fields {
				props[f.Name] = paramSchema(f, expr)
			}
			s["properties"] = props
			s["additionalProperties"] = false
		} else if p.Elem != "" {
			s["additionalProperties"] = paramSchema(stages.Param{Type: p.Elem}, expr)
		}
	default:
		s = map[string]any{}
	}
	out := map[string]any{"anyOf": []any{s, expr}}
	if p.Doc != "" {
		out["description"] = fmt.Sprintf("%s (%s)", p.Doc, p.TypeString())
	}
	if p.Default != nil {
		if d, ok := p.Default.(interface{ String() string }); ok {
			out["default"] = d.String()
		} else {
			out["default"] = p.Default
		}
	}
	return out
}
