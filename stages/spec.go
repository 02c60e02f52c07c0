package stages

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// ParamType is the declared type of a stage parameter.
type ParamType string

// The parameter types a Spec may declare.
const (
	String   ParamType = "string"
	Int      ParamType = "int"
	Float    ParamType = "float"
	Bool     ParamType = "bool"
	Path     ParamType = "path"  // a file or folder; its content goes into the cache key
	Model    ParamType = "model" // an ONNX model file; like Path
	List     ParamType = "list"
	Map      ParamType = "map"
	Duration ParamType = "duration"
	Any      ParamType = "any"
)

// Param declares one parameter of a stage.
type Param struct {
	Name     string
	Type     ParamType
	Required bool
	// Default is used when the recipe omits the parameter. It is written in
	// the coerced Go form (string, int64, float64, bool, []any,
	// map[string]any, time.Duration).
	Default any
	Doc     string
	// Enum lists the allowed values of a string parameter.
	Enum []string
	// Elem is the element type of a list, or the value type of a free map.
	Elem ParamType
	// Fields makes a map parameter a structured object with these keys; unknown
	// keys are then errors.
	Fields []Param
	// Aliases are old names that still work for one release; recipe
	// validation warns "renamed to Name".
	Aliases []string
	// KeyName is the name the value has in the cache key when it differs
	// from Name, so renaming a parameter keeps its recipes' keys.
	KeyName string
}

// Key returns the name of the parameter in cache keys.
func (p Param) Key() string {
	if p.KeyName != "" {
		return p.KeyName
	}
	return p.Name
}

// OutputKind says whether an output is a file (or folder) or a value.
type OutputKind string

// The output kinds.
const (
	FileOutput  OutputKind = "file"
	ValueOutput OutputKind = "value"
)

// OutputSpec declares one output of a stage.
type OutputSpec struct {
	Name string
	Kind OutputKind
	// Type of a value output: "number", "string", "bool", "map", "list" or "any".
	Type string
	Doc  string
}

// Spec declares a stage: what it is called, what it takes and what it gives.
type Spec struct {
	Name    string
	Version string // bump when the stage's results change for the same inputs
	Summary string // one line
	Doc     string // longer description, markdown
	Params  []Param
	Outputs []OutputSpec
	// OpenOutputs means the stage may produce outputs not listed in Outputs
	// (the shell stage's `files` and `values`); references to them are
	// checked when the stage has run.
	OpenOutputs bool
	// Environmental stages (benchmark, tensorrt) measure or depend on the
	// machine: a fingerprint of it goes into their cache key.
	Environmental bool
	// NoCache stages run every time (assert-like stages may set it).
	NoCache bool
	// Exclusive stages time things and need the machine to themselves: the
	// scheduler waits for running stages to finish before starting one and
	// starts nothing else while it runs. A stage that times things only
	// with some parameters also implements ExclusiveFor.
	Exclusive bool
	// ExclusiveWhen says, for such a stage, with which parameters it times
	// things ("`verify_speed` is true"); the docs print it. Such an instance
	// also has the machine in its cache key (Environmental, or
	// EnvironmentalFor with the same parameters).
	ExclusiveWhen string
}

// ExclusiveFor is implemented by an Exclusive stage that needs the machine
// to itself only with some parameters (quantize times fp32 against INT8 only
// with verify_speed). The engine asks it when an instance is ready to run,
// with that instance's parameters coerced to the Spec; false lets the
// instance run beside others.
type ExclusiveFor interface {
	ExclusiveFor(params map[string]any) bool
}

// DecideOn decodes an instance's parameters into a P and asks f about them,
// for ExclusiveFor and EnvironmentalFor; parameters that do not decode count
// as true, the safe answer for a stage that times.
func DecideOn[P any](params map[string]any, f func(*P) bool) bool {
	var p P
	if err := Decode(params, &p); err != nil {
		return true
	}
	return f(&p)
}

// EnvironmentalFor is implemented by a stage that measures the machine only
// with some parameters (optimize and fp16 with verify_speed, prune with a
// target): true, for an instance's parameters coerced to the Spec, puts the
// machine's fingerprint into that instance's cache key, as Environmental
// does for every instance, so a timing is never served to another machine.
type EnvironmentalFor interface {
	EnvironmentalFor(params map[string]any) bool
}

// Param returns the declared parameter called name.
func (s Spec) Param(name string) (Param, bool) {
	for _, p := range s.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// aliasOf returns the parameter that name is an old name of.
func (s Spec) aliasOf(name string) (Param, bool) {
	for _, p := range s.Params {
		if slices.Contains(p.Aliases, name) {
			return p, true
		}
	}
	return Param{}, false
}

// Renamed returns the current name of a parameter that name is an old name
// of ("" if none).
func (s Spec) Renamed(name string) string {
	if p, ok := s.aliasOf(name); ok {
		return p.Name
	}
	return ""
}

// Output returns the declared output called name.
func (s Spec) Output(name string) (OutputSpec, bool) {
	for _, o := range s.Outputs {
		if o.Name == name {
			return o, true
		}
	}
	return OutputSpec{}, false
}

// ParamNames returns the declared parameter names, sorted.
func (s Spec) ParamNames() []string {
	names := make([]string, 0, len(s.Params))
	for _, p := range s.Params {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// Validate checks that a Spec is well formed; registration calls it.
func (s Spec) Validate() error {
	if s.Name == "" {
		return fmt.Errorf("stage spec: empty name")
	}
	if s.Version == "" {
		return fmt.Errorf("stage %s: empty version", s.Name)
	}
	seen := map[string]bool{}
	for _, p := range s.Params {
		if err := validateParam(s.Name, p); err != nil {
			return err
		}
		for _, n := range append([]string{p.Name}, p.Aliases...) {
			if seen[n] {
				return fmt.Errorf("stage %s: duplicate parameter %q", s.Name, n)
			}
			seen[n] = true
		}
	}
	seen = map[string]bool{}
	for _, o := range s.Outputs {
		if o.Name == "" || seen[o.Name] {
			return fmt.Errorf("stage %s: empty or duplicate output %q", s.Name, o.Name)
		}
		if o.Kind != FileOutput && o.Kind != ValueOutput {
			return fmt.Errorf("stage %s: output %q: kind %q is not file or value", s.Name, o.Name, o.Kind)
		}
		seen[o.Name] = true
	}
	return nil
}

func validateParam(stage string, p Param) error {
	if p.Name == "" {
		return fmt.Errorf("stage %s: parameter with empty name", stage)
	}
	if !knownType(p.Type) {
		return fmt.Errorf("stage %s: parameter %q: unknown type %q", stage, p.Name, p.Type)
	}
	if p.Elem != "" && !knownType(p.Elem) {
		return fmt.Errorf("stage %s: parameter %q: unknown element type %q", stage, p.Name, p.Elem)
	}
	for _, f := range p.Fields {
		if err := validateParam(stage+"."+p.Name, f); err != nil {
			return err
		}
	}
	return nil
}

func knownType(t ParamType) bool {
	switch t {
	case String, Int, Float, Bool, Path, Model, List, Map, Duration, Any:
		return true
	}
	return false
}

// TypeString renders a parameter's type for docs: "list of model", "map of path".
func (p Param) TypeString() string {
	switch {
	case p.Type == List && p.Elem != "":
		return "list of " + string(p.Elem)
	case p.Type == Map && len(p.Fields) > 0:
		names := make([]string, 0, len(p.Fields))
		for _, f := range p.Fields {
			names = append(names, f.Name)
		}
		return "map {" + strings.Join(names, ", ") + "}"
	case p.Type == Map && p.Elem != "":
		return "map of " + string(p.Elem)
	}
	return string(p.Type)
}
