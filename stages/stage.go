package stages

import (
	"context"

	"github.com/charmbracelet/log"
)

// Stage is one kind of pipeline step: a built-in or a plugin.
type Stage interface {
	Spec() Spec
	Run(ctx context.Context, in *Input) (*Output, error)
}

// Progress receives a stage's progress reports. Implementations must be safe
// for concurrent use.
type Progress interface {
	// Report says that done of total units are finished; total 0 means unknown.
	Report(done, total int64, what string)
}

// Input is what a stage's Run receives.
type Input struct {
	// Instance is the stage instance's label in the run ("quantize[int8-static]").
	Instance string
	// Params are coerced to the Spec: string, int64, float64, bool, []any,
	// map[string]any and time.Duration; path and model values are absolute
	// paths. Every declared parameter with a default is present. A stage
	// reads them through its parameter struct: Decode.
	Params map[string]any
	// WorkDir is an empty directory owned by this run of the stage. File
	// outputs must be written inside it.
	WorkDir string
	// Log is the stage's logger.
	Log *log.Logger
	// Progress may be nil.
	Progress Progress
	// Env is the environment for processes the stage starts (a script, a
	// plugin): NAME=value entries, MinimalEnv of szrun's environment and
	// the recipe's env: allow-list. nil means MinimalEnv(os.LookupEnv, nil).
	Env []string
	// Explain holds, by parameter path ("checks[0].that"), the parameters
	// written as one ${{ }} expression: its source and, for a condition
	// that compares things, the values compared. It only explains a
	// result, never computes one: it is not part of the cache key. nil when
	// no parameter is an expression.
	Explain map[string]Explanation
}

// Output is what a successful Run returns.
type Output struct {
	// Files maps an output name to a file or folder, absolute or relative to
	// the work dir, that must lie inside the work dir.
	Files map[string]string
	// Values maps an output name to a JSON-compatible value: string, bool,
	// float64, int64, int, []any, map[string]any (or typed slices/maps of those).
	Values map[string]any
}

// Report forwards to in.Progress when one is set.
func (in *Input) Report(done, total int64, what string) {
	if in.Progress != nil {
		in.Progress.Report(done, total, what)
	}
}

// Explanation shows a parameter written as one ${{ }} expression and what
// it compared, so that a stage can say why a condition is false (assert's
// failed checks):
// the engine evaluates conditions before the stage sees them, which leaves
// the stage only true or false.
type Explanation struct {
	// Source is the expression as the recipe wrote it, without ${{ }}.
	Source string
	// Comparisons are the comparisons in it (across && || ! and
	// parentheses), in source order; none for an expression that compares
	// nothing.
	Comparisons []Comparison
}

// Comparison is one comparison inside a condition, with both sides'
// values.
type Comparison struct {
	Left, Op, Right string // as written; Op one of == != < <= > >=
	// LeftValue and RightValue are the sides' values as parameters hold
	// them (nil for null or unknown).
	LeftValue, RightValue any
	Holds                 bool
}
