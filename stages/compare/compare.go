package compare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/internal/atomicfile"
	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/normalize"
)

// ReportFile is the report's name inside the work dir.
const ReportFile = "compare.json"

// limits are the tolerances a candidate must meet; a nil field is not checked.
type limits struct {
	atol, rtol             float64
	allClose               bool
	maxDrop, minCos, minT1 *float64
}

// job is everything Run needs, checked before any model runs.
type job struct {
	reference  string
	candidates map[string]string
	// run is the file each model runs from, by path: the model itself, or
	// for an opset ONNX Runtime has no kernels for, a copy lifted to one
	// it has (as the model stages do before transforming).
	run    map[string]string
	names  []string // candidates, sorted
	data   *evaluate.Data
	opts   evaluate.Options
	output string // the classifier output ("" = none)
	limits limits
}

// Report is the JSON report.
type Report struct {
	Reference         string       `json:"reference"`
	Data              string       `json:"data"`
	Samples           int64        `json:"samples"`
	Labels            bool         `json:"labels"`
	ClassifierOutput  string       `json:"classifier_output,omitempty"`
	ReferenceAccuracy *float64     `json:"reference_accuracy,omitempty"`
	Candidates        []Candidate  `json:"candidates"`
	Failures          []string     `json:"failures"`
	Limits            ReportLimits `json:"limits"`
}

// ReportLimits echoes the tolerances applied.
type ReportLimits struct {
	Atol             *float64 `json:"atol,omitempty"`
	Rtol             *float64 `json:"rtol,omitempty"`
	MaxAccuracyDrop  *float64 `json:"max_accuracy_drop,omitempty"`
	MinCosine        *float64 `json:"min_cosine,omitempty"`
	MinTop1Agreement *float64 `json:"min_top1_agreement,omitempty"`
}

// Candidate is one candidate's comparison.
type Candidate struct {
	Name     string                        `json:"name"`
	Model    string                        `json:"model"`
	Passed   bool                          `json:"passed"`
	Failures []string                      `json:"failures,omitempty"`
	Outputs  []evaluate.OutputComparison   `json:"outputs"`
	Close    map[string]evaluate.Closeness `json:"allclose,omitempty"`
}

// Run checks every parameter and input, runs the reference and each candidate over
// the data, compares them and writes the report.
func (s *Stage) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	if in.Log == nil {
		in.Log = log.New(io.Discard)
	}
	var p Params
	if err := in.Decode(&p); err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	j, err := prepare(ctx, &p, in.WorkDir, func(msg string) { in.Log.Warn(msg) })
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	defer j.data.Close()
	total := j.data.N * int64(1+len(j.names))
	step := int64(0)
	progress := func(what string) func(done, n int64) {
		base := step
		return func(done, n int64) { in.Report(base+done, total, what) }
	}
	o := j.opts
	o.Progress = progress("reference")
	ref, err := evaluate.Run(ctx, j.run[j.reference], j.data, o)
	if err != nil {
		return nil, fmt.Errorf("compare: reference: %w", err)
	}
	rep := &Report{Reference: j.reference, Data: j.data.Path, Samples: j.data.N, Labels: j.data.Labels != nil,
		ClassifierOutput: j.output, Failures: []string{}, Limits: reportLimits(&p)}
	if rep.Data == "" {
		rep.Data = "random"
	}
	if j.output != "" && j.data.Labels != nil {
		a := evaluate.Accuracy(ref, j.output, j.data.Labels)
		rep.ReferenceAccuracy = &a
		in.Log.Info("reference", "accuracy", a)
	}
	for _, name := range j.names {
		step += j.data.N
		o.Progress = progress(name)
		cand, err := evaluate.Run(ctx, j.run[j.candidates[name]], j.data, o)
		if err != nil {
			return nil, fmt.Errorf("compare: candidate %q: %w", name, err)
		}
		c := judge(name, j, ref, cand)
		rep.Candidates = append(rep.Candidates, c)
		rep.Failures = append(rep.Failures, c.Failures...)
		in.Log.Info("compared", "candidate", name, "passed", c.Passed)
	}
	if err := atomicfile.WriteJSON(filepath.Join(in.WorkDir, ReportFile), rep); err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	if len(rep.Failures) > 0 && !p.ReportOnly {
		return nil, fmt.Errorf("compare: %d tolerance(s) broken:\n  %s", len(rep.Failures), strings.Join(rep.Failures, "\n  "))
	}
	return &stages.Output{Files: map[string]string{"report": ReportFile}, Values: values(rep)}, nil
}

// prepare checks the data against every model, so that a mistake is
// reported before any model runs.
func prepare(ctx context.Context, p *Params, workDir string, warn func(string)) (*job, error) {
	j := &job{reference: p.Reference, limits: limitsOf(p), run: map[string]string{}}
	var err error
	if j.candidates, err = evaluate.FlattenModels("candidates", p.Candidates); err != nil {
		return nil, err
	}
	for name := range j.candidates {
		j.names = append(j.names, name)
	}
	slices.Sort(j.names)
	j.opts.Providers, j.opts.Threads, j.opts.Batch = p.Providers, int(p.Threads), p.Batch
	if _, err := os.Stat(j.reference); err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	for _, name := range j.names {
		if _, err := os.Stat(j.candidates[name]); err != nil {
			return nil, fmt.Errorf("candidates.%s: %w", name, err)
		}
	}
	for i, path := range append([]string{j.reference}, j.sortedPaths()...) {
		if _, ok := j.run[path]; ok {
			continue
		}
		lifted, rep, err := normalize.ForORT(path, filepath.Join(workDir, "lifted", strconv.Itoa(i)))
		if err != nil {
			return nil, err
		}
		if lifted != path {
			warn(fmt.Sprintf("%s runs lifted from opset %d (ONNX Runtime has no kernels for it): %s", path, rep.FromOpset, rep))
		}
		j.run[path] = lifted
	}
	info, outputs, err := describe(ctx, j.run[j.reference], j.opts)
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	if j.data, err = loadData(p, info, warn); err != nil {
		return nil, err
	}
	if err := check(ctx, "reference", j.reference, j.run[j.reference], j.data, j.opts); err != nil {
		return nil, err
	}
	for _, name := range j.names {
		if err := check(ctx, "candidates."+name, j.candidates[name], j.run[j.candidates[name]], j.data, j.opts); err != nil {
			return nil, err
		}
	}
	j.output = p.Output
	if j.output != "" && !slices.ContainsFunc(outputs, func(o runtime.IOInfo) bool { return o.Name == j.output }) {
		return nil, fmt.Errorf("output: the reference has no output %q", j.output)
	}
	if j.output == "" {
		for _, o := range outputs {
			if len(o.Shape) == 2 && (o.DType == "float32" || o.DType == "float16" || o.DType == "float64" || o.DType == "bfloat16") {
				j.output = o.Name
				break
			}
		}
	}
	if j.limits.maxDrop != nil && j.data.Labels == nil {
		return nil, errors.New("max_accuracy_drop: the data has no `labels` array to measure accuracy with")
	}
	if j.limits.maxDrop != nil && j.output == "" {
		return nil, errors.New("max_accuracy_drop: the reference has no float [N, C] output to score; name one with `output`")
	}
	return j, nil
}

func loadData(p *Params, info []runtime.IOInfo, warn func(string)) (*evaluate.Data, error) {
	if p.Data != "" {
		d, err := evaluate.LoadData(p.Data)
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		if err := d.Fix(p.FixedInputs); err != nil {
			d.Close()
			return nil, err
		}
		return d, nil
	}
	d, err := evaluate.RandomData(info, evaluate.RandomOptions{Shapes: p.Shapes, Fixed: p.FixedInputs, Samples: p.Samples, Seed: p.Seed, Warn: warn})
	if err != nil {
		return nil, fmt.Errorf("random inputs for the reference: %w", err)
	}
	return d, nil
}

// describe opens a model briefly to read its inputs and outputs.
func describe(ctx context.Context, path string, o evaluate.Options) (in, out []runtime.IOInfo, err error) {
	s, err := runtime.NewSession(ctx, path, runtime.SessionOptions{IntraOpThreads: 1, Providers: o.Providers})
	if err != nil {
		return nil, nil, err
	}
	defer s.Close()
	return s.Inputs(), s.Outputs(), nil
}

// sortedPaths are the candidates' files, in the order of their names.
func (j *job) sortedPaths() []string {
	var out []string
	for _, name := range j.names {
		out = append(out, j.candidates[name])
	}
	return out
}

// check proves that the data and batch size fit the model at path (run from
// file); param names it.
func check(ctx context.Context, param, path, file string, d *evaluate.Data, o evaluate.Options) error {
	info, _, err := describe(ctx, file, o)
	if err != nil {
		return fmt.Errorf("%s: %w", param, err)
	}
	if err := d.Match(info); err != nil {
		src := d.Path
		if src == "" {
			src = "random inputs"
		}
		return fmt.Errorf("data %s does not fit %s (%s): %w", src, param, path, err)
	}
	per, err := d.PerSample(info)
	if err != nil {
		return fmt.Errorf("%s (%s): %w", param, path, err)
	}
	if per {
		return nil // one complete feed per run: no batch to size
	}
	if _, err := evaluate.BatchSize(info, o.Batch); err != nil {
		return fmt.Errorf("batch: %s (%s): %w", param, path, err)
	}
	return nil
}

// limitsOf gives the tolerances a candidate must meet.
func limitsOf(p *Params) limits {
	l := limits{maxDrop: p.MaxAccuracyDrop, minCos: p.MinCosine, minT1: p.MinTop1Agreement}
	if p.Atol != nil || p.Rtol != nil {
		l.allClose = true
		if p.Atol != nil {
			l.atol = *p.Atol
		}
		if p.Rtol != nil {
			l.rtol = *p.Rtol
		}
	}
	return l
}

func reportLimits(p *Params) ReportLimits {
	return ReportLimits{Atol: p.Atol, Rtol: p.Rtol, MaxAccuracyDrop: p.MaxAccuracyDrop,
		MinCosine: p.MinCosine, MinTop1Agreement: p.MinTop1Agreement}
}
