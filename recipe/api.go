package recipe

// This file is the contract between recipe/ and the run engine. The engine
// codes against these declarations; keep their names and meaning.

import (
	"time"

	"github.com/sentinelzer0/szrun/stages"
	"github.com/zclconf/go-cty/cty"
)

// Pos is a position in a recipe file; Line and Col are 1-based.
type Pos struct {
	File string
	Line int
	Col  int
}

// Recipe is a decoded, structurally checked recipe file.
type Recipe struct {
	File        string // absolute path of the recipe file
	Dir         string // its folder; relative paths resolve against it
	Version     int
	Name        string // default: file name without extension
	Description string
	Params      []*ParamDecl  // in file order
	Env         []string      // the env allow-list, sorted
	Stages      []*StageDecl  // in file order
	Outputs     []*OutputDecl // in file order

	file   string // the path as given to Parse, for positions
	envPos Pos
	broken bool // Parse found structural problems: validate only, never run

	warnings errs
	// quoted: Parse's warnings (lines only szrun reads as YAML).
	quoted    errs
	skeletons map[string]cty.Value // see evaluator.skeletons
}

// ParamDecl is one entry of `params:`.
type ParamDecl struct {
	Name  string
	Value cty.Value // the default, after any -p override
	Pos   Pos

	src *Value
}

// StageDecl is one entry of `stages:`.
type StageDecl struct {
	ID      string
	Pos     Pos // of the id key
	Uses    string
	UsesPos Pos
	// Name is a display name (default: the id); Description documents the
	// stage.
	Name        string
	Description string
	With        *Value // a map value; never nil (empty map when absent)
	Matrix      []*MatrixAxis
	If          *Value // nil when absent
	Needs       []Ref
	Cache       bool          // default true; `cache: false` sets it false
	Timeout     time.Duration // 0: none
	Retries     int
	// Deps is the union of Needs and every stage referenced by With and If,
	// sorted, without duplicates.
	Deps []string
	// MatrixDeps maps a dependency to the matrix key K when every reference
	// to it is indexed by matrix.K (and it is not in Needs): an instance then
	// depends only on the upstream instance whose label is its matrix.K, so
	// one failed model of a matrix does not skip every model downstream.
	MatrixDeps map[string]string

	withPos Pos  // of the `with:` key, or the id when absent
	withBad bool // `with:` is not a mapping (reported by Parse)
}

// Ref is a reference to another stage with the position it was written at.
type Ref struct {
	Stage  string
	Output string // "" for a `needs:` entry
	Pos    Pos
	// MatrixKey is K when the reference is indexed by one matrix value,
	// stages.X.outputs.NAME[matrix.K]: it reads only the instance of X whose
	// label is this instance's matrix.K.
	MatrixKey string
}

// MatrixAxis is one key of `matrix:` with its values, in file order.
type MatrixAxis struct {
	Name   string
	Values []cty.Value
	Pos    Pos

	src *Value // a list, or one expression giving a list
}

// OutputDecl is one entry of the recipe-level `outputs:`.
type OutputDecl struct {
	Name  string
	Value *Value
	Pos   Pos
}

// Instance is one runnable instance of a stage: the stage itself, or one
// combination of its matrix.
type Instance struct {
	Stage *StageDecl
	// Label joins the matrix values with "-" ("int8-static"); "" without a matrix.
	Label string
	// ID is the stage id, or "id[label]" for a matrix instance.
	ID     string
	Matrix map[string]cty.Value
}

// GPU describes the machine's GPUs for `gpu.count` and `gpu.names`.
type GPU struct {
	Count int
	Names []string
}

// Scope is what an expression can see.
type Scope struct {
	Params map[string]cty.Value
	// Stages maps a stage id to its outputs. For a matrix stage each output is
	// a map from instance label to value. A stage missing here evaluates to
	// unknown values when Partial is set, else is an error.
	Stages  map[string]map[string]cty.Value
	Matrix  map[string]cty.Value
	Env     map[string]string // only allow-listed names
	GPU     GPU
	Partial bool
}

// ParamChecker is implemented by a SpecLookup that can check a stage's
// parameters beyond their declared types: a built-in stage's cross-field
// rules, a plugin's Validate. params are coerced with unknown values (upstream
// outputs) as nil. Paths in the returned errors are inside `with:`.
type ParamChecker interface {
	CheckParams(uses string, params map[string]any) stages.ParamErrors
}

// SpecLookup finds the Spec of a `uses:` value (built-in or "plugin:NAME").
// Names lists what exists, for "did you mean".
type SpecLookup interface {
	Spec(uses string) (stages.Spec, bool)
	Names() []string
}
