package transform

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/normalize"
)

// NormalizedFile is the name, in the work dir, of the normalized copy of a
// model that normalization changed.
const NormalizedFile = "normalized.onnx"

// Options says which stage opens a model and what its transform needs.
type Options struct {
	// Stage names the stage in errors ("fp16: ...").
	Stage string
	// WorkDir receives the normalized copy when normalization changes the
	// model.
	WorkDir string
	// Load says how the model is loaded: KeepExternal leaves weights in
	// their external data file (read when needed, streamed by Save).
	Load onnx.LoadOptions
	// Log, when set, hears what normalization changed.
	Log *log.Logger
	// Normalize is what the transform needs of the model (the opset it
	// writes, a copy of shared weights). Its MinOpset is raised to
	// normalize.ORTMinOpset: every stage runs the model in ONNX Runtime.
	Normalize normalize.Options
	// Check, when set, sees the model as it was loaded, before
	// normalization changes it (a stage's checks on node names the user
	// wrote, say); its error is returned as it is.
	Check func(*onnxpb.ModelProto) error
}

// Model is a model opened for a transform.
type Model struct {
	// Input is the model the user gave.
	Input string
	// Path is the file ONNX Runtime loads and the sessions compare against:
	// Input when normalization changed nothing, else the normalized copy in
	// the work dir.
	Path string
	// Model is the normalized model in memory (the model at Path). A stage
	// that hands the model
	// to ONNX Runtime by file may drop it (Model.Proto = nil) to free its
	// weights.
	*onnx.Model
	// Normalized says what normalization changed (never nil).
	Normalized *normalize.Report
}

// Close removes the normalized copy, if Open wrote one: it is the stage's
// scratch, not an output. Path must not be used after.
func (m *Model) Close() error {
	if m.Path == m.Input {
		return nil
	}
	err := os.Remove(m.Path)
	if ext, _ := os.Stat(m.Path + ".data"); ext != nil {
		err = errors.Join(err, os.Remove(m.Path+".data"))
	}
	return err
}

// Open loads the model at path, normalizes it for the transform and, when
// normalization changed it, saves the normalized copy to the work dir (with
// the original's external data layout) so every ONNX Runtime session reads
// the model the transform sees; Close removes that copy. A model that cannot be loaded fails naming
// the file, one that cannot be normalized naming the node and the reason
// (a *normalize.NodeError in the chain).
func Open(path string, o Options) (*Model, error) {
	m, err := onnx.LoadWith(path, o.Load)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Stage, err)
	}
	if o.Check != nil {
		if err := o.Check(m.Proto); err != nil {
			return nil, err
		}
	}
	no := o.Normalize
	no.MinOpset = max(no.MinOpset, normalize.ORTMinOpset)
	rep, err := normalize.Model(m.Proto, no)
	if err != nil {
		return nil, fmt.Errorf("%s: model %s: %w", o.Stage, path, err)
	}
	if s := rep.String(); s != "" {
		logger := o.Log
		if logger == nil {
			logger = log.New(io.Discard)
		}
		logger.Info("normalized", "model", filepath.Base(path), "changes", s)
	}
	tm := &Model{Input: path, Path: path, Model: m, Normalized: rep}
	if !rep.Changed() {
		return tm, nil
	}
	out := filepath.Join(o.WorkDir, NormalizedFile)
	if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("%s: normalized %s: %w", o.Stage, path, err)
	}
	if err := Save(m, out); err != nil {
		return nil, fmt.Errorf("%s: normalized %s: %w", o.Stage, path, err)
	}
	tm.Path = out
	if o.Load.KeepExternal && m.External {
		// The weights left in the original's data file now sit in the
		// copy's, at other offsets: the model in memory is the copy's, so
		// that what reads or saves its weights later reads the copy.
		if tm.Model, err = onnx.LoadWith(out, o.Load); err != nil {
			return nil, fmt.Errorf("%s: normalized %s: %w", o.Stage, path, err)
		}
	}
	return tm, nil
}

// Save writes m to path, keeping its external data layout (inline unless it
// was loaded with external data or is over 2 GiB), atomically: a failed save
// leaves no file under path.
func Save(m *onnx.Model, path string) error {
	return onnx.Save(m, path, onnx.SaveOptions{})
}

// Sizes are a transform's size figures: the input model and the result, each
// with its external data (onnx.FileSize).
func Sizes(before, after string) (int64, int64, error) {
	b, err := onnx.FileSize(before)
	if err != nil {
		return 0, 0, err
	}
	a, err := onnx.FileSize(after)
	if err != nil {
		return 0, 0, err
	}
	return b, a, nil
}

// Doc is the section of docs/stages.md that says what every model transform
// does around its own work.
const Doc = `## Model transforms

` + "`optimize`, `fp16`, `quantize` and `prune`" + ` are transforms on one shared harness, so
they load, normalize, save, verify and measure a model the same way:

1. **Load and normalize.** The model is loaded (external data included; a corrupt file is an
   error naming it) and normalized: an opset ONNX Runtime has no kernels for (6) is lifted to
   7 (` + "`quantize`" + `: to 13, for per-channel QuantizeLinear), ONNX Runtime's fused
   FusedConv, FusedGemm and FusedMatMul (what ` + "`optimize`" + ` at level extended writes) are
   split back into standard ops, Constant and Identity chains and inference Dropouts are
   resolved (` + "`quantize`" + ` also copies a weight read by several nodes). A model that
   cannot be normalized fails naming the node and the reason (` + "`optimize`, `fp16`" + ` and
   ` + "`prune`" + ` keep a fused op with no standard form as it is). The normalized model is
   what is transformed and what every comparison runs.
2. **Data.** The ` + "`data`" + ` file (or ` + "`calibration.data`, `accuracy.data`" + `) is checked against
   the model before any work: every array must be a model input, a model output (reference
   outputs saved beside the inputs) or ` + "`labels`" + `, so a misspelt name is an error. Without a
   file, reproducible random samples are used.
3. **Save.** Every model is written atomically (temporary file, fsync, rename): a failed save
   leaves no partial file. The original's external data layout is kept.
4. **Verify.** The result runs in ONNX Runtime (in a worker process: a crash is a stage error)
   on the same data as the original and is compared output by output. It fails when it does
   not load or run, when an output is missing or changed shape, and when an output has NaN or
   Inf values the original has not; how close is close enough is each stage's own tolerance.
   With labels, every transform reports ` + "`accuracy_before`, `accuracy` and `accuracy_drop`" + `
   (top-1 of the classifier output, 0.01 = one point).
5. **Measure.** ` + "`size_before` and `size_after`" + ` count the model file and every external data
   file it references. With ` + "`verify_speed: true`" + ` (the default in ` + "`quantize`" + `, off in ` + "`optimize`" + `
   and ` + "`fp16`" + ` so that nothing gets slower) the result is timed side by side with the model it
   is compared with, in the worker, at batch 1 on the first sample of the data, else random inputs
   (` + "`prune`" + `'s ` + "`target`" + ` search times each candidate the same way, on random inputs):
   after three warm-up runs the models take turns, each making up to 3 timed runs per turn
   (` + "`speed_iterations`" + `/10, at least 1, so that there are ten turns where the count allows;
   one more run, not counted, starts each turn), until ` + "`speed_iterations`" + ` runs of each are
   timed. Medians come with a 95% interval from a bootstrap over the turns (the
   ` + "`benchmark`" + ` stage's statistics), ` + "`speedup`" + ` (before / after) with
   ` + "`speedup_low`" + ` and ` + "`speedup_high`" + `; a speedup whose interval is wider than ±10% of it,
   or timed in fewer than 5 turns, is ` + "`unstable`" + ` and warned about, as is a result slower
   than its input. Timing needs the
   machine: an instance that times runs alone, other instances beside each other.
6. **Report.** Every transform's ` + "`report.json`" + ` starts with the keys every transform shares, then
   the stage's own:

   | key | meaning |
   | --- | --- |
   | ` + "`model`" + ` | the model the stage was given |
   | ` + "`output`" + ` | the file it wrote, by name |
   | ` + "`size_before`, `size_after`, `size_ratio`" + ` | bytes with external data, after / before |
   | ` + "`normalized`" + ` | what normalization changed (absent when nothing) |
   | ` + "`verification`" + ` | ` + "`data`" + ` (the file, or ` + "`random`" + `), ` + "`samples`, `max_abs_error`, `max_rel_error`" + `, ` + "`nan`" + ` and ` + "`inf`" + ` (counts in the result's outputs), with labels ` + "`accuracy_before`, `accuracy`, `accuracy_drop`" + `, and ` + "`outputs`" + `: per output its errors, cosine, top-1 agreement and both models' NaN/Inf counts |
   | ` + "`speed`" + ` | when timed: ` + "`batch`, `threads`, `runs`" + `, ` + "`before_ms`, `after_ms`" + ` (medians) with ` + "`_low_ms`/`_high_ms`" + `, ` + "`speedup`, `speedup_low`, `speedup_high`, `confidence`, `p_faster`, `turns`, `unstable`" + ` |
   | ` + "`warnings`" + ` | what the stage warned about |

`
