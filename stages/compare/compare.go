package compare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
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
	names      []string // candidates, sorted
	data       *evaluate.Data
	opts       evaluate.Options
	output     string // the classifier output ("" = none)
	limits     limits
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
	j, err := prepare(in)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	total := j.data.N * int64(1+len(j.names))
	step := int64(0)
	progress := func(what string) func(done, n int64) {
		base := step
		return func(done, n int64) { in.Report(base+done, total, what) }
	}
	o := j.opts
	o.Progress = progress("reference")
	ref, err := evaluate.Run(ctx, j.reference, j.data, o)
	if err != nil {
		return nil, fmt.Errorf("compare: reference: %w", err)
	}
	rep := &Report{Reference: j.reference, Data: j.data.Path, Samples: j.data.N, Labels: j.data.Labels != nil,
		ClassifierOutput: j.output, Failures: []string{}, Limits: reportLimits(in)}
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
		cand, err := evaluate.Run(ctx, j.candidates[name], j.data, o)
		if err != nil {
			return nil, fmt.Errorf("compare: candidate %q: %w", name, err)
		}
		c := judge(name, j, ref, cand)
		rep.Candidates = append(rep.Candidates, c)
		rep.Failures = append(rep.Failures, c.Failures...)
		in.Log.Info("compared", "candidate", name, "passed", c.Passed)
	}
	if err := evaluate.WriteJSON(filepath.Join(in.WorkDir, ReportFile), rep); err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	if len(rep.Failures) > 0 && !in.Bool("report_only") {
		return nil, fmt.Errorf("compare: %d tolerance(s) broken:\n  %s", len(rep.Failures), strings.Join(rep.Failures, "\n  "))
	}
	return &stages.Output{Files: map[string]string{"report": ReportFile}, Values: values(rep)}, nil
}

// prepare validates every parameter and the data against every model, so that a
// mistake is reported before any model runs.
func prepare(in *stages.Input) (*job, error) {
	j := &job{reference: in.String("reference")}
	var err error
	if j.candidates, err = evaluate.FlattenModels("candidates", in.Map("candidates")); err != nil {
		return nil, err
	}
	for name := range j.candidates {
		j.names = append(j.names, name)
	}
	slices.Sort(j.names)
	if j.opts.Providers, err = evaluate.CheckProviders("providers", in.List("providers")); err != nil {
		return nil, err
	}
	j.opts.Threads = int(in.Int("threads"))
	j.opts.Batch = in.Int("batch")
	if j.opts.Batch < 0 {
		return nil, fmt.Errorf("batch: %d is negative", j.opts.Batch)
	}
	if j.opts.Threads < 0 {
		return nil, fmt.Errorf("threads: %d is negative", j.opts.Threads)
	}
	if j.limits, err = parseLimits(in); err != nil {
		return nil, err
	}
	if _, err := os.Stat(j.reference); err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	for _, name := range j.names {
		if _, err := os.Stat(j.candidates[name]); err != nil {
			return nil, fmt.Errorf("candidates.%s: %w", name, err)
		}
	}
	info, outputs, err := describe(j.reference, j.opts)
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	if j.data, err = loadData(in, info); err != nil {
		return nil, err
	}
	if err := check("reference", j.reference, j.data, j.opts); err != nil {
		return nil, err
	}
	for _, name := range j.names {
		if err := check("candidates."+name, j.candidates[name], j.data, j.opts); err != nil {
			return nil, err
		}
	}
	j.output = in.String("output")
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

func loadData(in *stages.Input, info []runtime.IOInfo) (*evaluate.Data, error) {
	if in.Has("data") {
		if in.Has("shapes") {
			return nil, errors.New("shapes: only random inputs (no `data`) take shapes")
		}
		d, err := evaluate.LoadData(in.String("data"))
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		return d, nil
	}
	shapes, err := evaluate.Shapes("shapes", in.Map("shapes"))
	if err != nil {
		return nil, err
	}
	if in.Int("samples") <= 0 {
		return nil, fmt.Errorf("samples: %d must be positive", in.Int("samples"))
	}
	d, err := evaluate.RandomData(info, shapes, in.Int("samples"), in.Int("seed"))
	if err != nil {
		return nil, fmt.Errorf("random inputs for the reference: %w", err)
	}
	return d, nil
}

// describe opens a model briefly to read its inputs and outputs.
func describe(path string, o evaluate.Options) (in, out []runtime.IOInfo, err error) {
	s, err := runtime.NewSession(path, runtime.SessionOptions{IntraOpThreads: 1, Providers: o.Providers})
	if err != nil {
		return nil, nil, err
	}
	defer s.Close()
	return s.Inputs(), s.Outputs(), nil
}

// check proves that the data and batch size fit the model at path; param names it.
func check(param, path string, d *evaluate.Data, o evaluate.Options) error {
	info, _, err := describe(path, o)
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
	if _, err := evaluate.BatchSize(info, o.Batch); err != nil {
		return fmt.Errorf("batch: %s (%s): %w", param, path, err)
	}
	return nil
}

func parseLimits(in *stages.Input) (limits, error) {
	var l limits
	opt := func(name string) (*float64, error) {
		if !in.Has(name) {
			return nil, nil
		}
		v := in.Float(name)
		if v < 0 || math.IsNaN(v) {
			return nil, fmt.Errorf("%s: %v is negative", name, v)
		}
		return &v, nil
	}
	var err error
	for _, p := range []struct {
		name string
		dst  **float64
	}{{"max_accuracy_drop", &l.maxDrop}, {"min_cosine", &l.minCos}, {"min_top1_agreement", &l.minT1}} {
		if *p.dst, err = opt(p.name); err != nil {
			return l, err
		}
	}
	atol, err := opt("atol")
	if err != nil {
		return l, err
	}
	rtol, err := opt("rtol")
	if err != nil {
		return l, err
	}
	if atol != nil || rtol != nil {
		l.allClose = true
		if atol != nil {
			l.atol = *atol
		}
		if rtol != nil {
			l.rtol = *rtol
		}
	}
	return l, nil
}

func reportLimits(in *stages.Input) ReportLimits {
	get := func(name string) *float64 {
		if !in.Has(name) {
			return nil
		}
		v := in.Float(name)
		return &v
	}
	return ReportLimits{Atol: get("atol"), Rtol: get("rtol"), MaxAccuracyDrop: get("max_accuracy_drop"),
		MinCosine: get("min_cosine"), MinTop1Agreement: get("min_top1_agreement")}
}
