package prune

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/internal/atomicfile"
	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/normalize"
	"github.com/sentinelzer0/szrun/stages/internal/transform"
)

// plan is a validated stage invocation.
type plan struct {
	opts       Options
	steps      []float64 // cumulative amounts; one entry without a schedule
	labels     []string
	model      string // the model the user gave
	run        string // the normalized model, which ONNX Runtime runs
	data       string
	calib      string
	compensate bool
	evalOpts   evaluate.Options
	target     *Target // replaces steps: the amount is searched
}

// parse decodes the parameters into a plan, rejecting bad values before any
// work.
func parse(in *stages.Input) (*plan, error) {
	var prm Params
	if err := in.Decode(&prm); err != nil {
		return nil, err
	}
	return prm.plan()
}

// Check holds the rules across parameters: those plan applies.
func (prm *Params) Check() error {
	if _, err := prm.plan(); err != nil {
		// Every plan error starts with the parameter it is about.
		name, _, _ := strings.Cut(err.Error(), " ")
		name = strings.TrimSuffix(name, ":")
		if i := strings.IndexAny(name, ".["); i >= 0 {
			name = name[:i]
		}
		return stages.Errorf(name, "%s", err.Error()).Reading("strategy", "amount", "schedule", "target", "data", "calibration", "allocation")
	}
	return nil
}

// plan checks the parameters and gives the plan.
func (prm *Params) plan() (*plan, error) {
	p := &plan{
		model:      prm.Model,
		data:       prm.Data,
		calib:      prm.Calibration,
		compensate: prm.Compensate,
		opts: Options{
			Strategy: prm.Strategy,
			Scope:    prm.Scope,
			Seed:     prm.Seed,
			Norm:     prm.Norm,
			Pattern:  prm.Pattern,
			Multiple: int(prm.ChannelMultiple),
			OpTypes:  slices.Clone(prm.OpTypes),
			Exclude:  slices.Clone(prm.Exclude),
		},
		evalOpts: evaluate.Options{Batch: prm.Batch, Threads: int(prm.Threads)},
	}
	if prm.Amount != nil {
		p.opts.Amount = *prm.Amount
	}
	// allocation defaults to sensitivity when there is data to measure on.
	p.opts.Allocation = prm.Allocation
	if p.opts.Allocation == "" && p.opts.Strategy == Structured && (p.data != "" || p.calib != "") {
		p.opts.Allocation = Sensitivity
	}
	if p.opts.Allocation == Sensitivity && p.data == "" && p.calib == "" {
		return nil, fmt.Errorf("allocation sensitivity: give data or calibration to measure each group's sensitivity on")
	}
	p.opts.applyDefaults()
	p.steps = slices.Clone(prm.Schedule)
	if err := p.opts.validate(); err != nil {
		return nil, err
	}
	if prm.Target != nil {
		t, err := parseTarget(prm.Target)
		if err != nil {
			return nil, err
		}
		switch {
		case p.opts.Strategy != Structured:
			return nil, fmt.Errorf("target: only strategy structured makes a model faster, not %s", p.opts.Strategy)
		case prm.Amount != nil || len(p.steps) > 0:
			return nil, fmt.Errorf("target: give target or amount/schedule, not both: the target decides the amount")
		}
		p.target = t
		p.steps, p.labels = []float64{0}, []string{"target"}
		return p, nil
	}
	switch {
	case len(p.steps) > 0 && prm.Amount != nil:
		return nil, fmt.Errorf("amount %v and schedule %v: give one of them", p.opts.Amount, p.steps)
	case len(p.steps) > 0 && p.opts.Strategy == NM:
		return nil, fmt.Errorf("schedule %v: n:m pruning has no amount to schedule; its pattern %s fixes the sparsity", p.steps, p.opts.Pattern)
	case len(p.steps) > 0:
		if err := checkSchedule(p.steps); err != nil {
			return nil, err
		}
	case p.opts.Strategy == NM:
		p.steps = []float64{0}
	case prm.Amount == nil:
		return nil, fmt.Errorf("amount: required for strategy %s (or give schedule)", p.opts.Strategy)
	default:
		p.steps = []float64{p.opts.Amount}
	}
	for _, s := range p.steps {
		l := stepLabel(s)
		if p.opts.Strategy == NM {
			l = p.opts.Pattern
		}
		p.labels = append(p.labels, l)
	}
	return p, nil
}

// Run prunes the model once per step and verifies every result in ONNX Runtime.
func (s *Stage) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	logger := in.Log
	if logger == nil {
		logger = log.New(io.Discard)
	}
	p, err := parse(in)
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	// The normalized model (opset lifted for ONNX Runtime; FusedConv and
	// FusedGemm, which hide the Conv and Gemm weights of a model optimized at
	// level extended, split back; Constant and Identity chains resolved) is
	// what is pruned and compared.
	tm, err := transform.Open(p.model, transform.Options{Stage: "prune", WorkDir: in.WorkDir, Log: logger,
		Normalize: normalize.Options{KeepFused: true}})
	if err != nil {
		return nil, err
	}
	defer tm.Close()
	m := tm.Model
	p.run = tm.Path
	if err := checkExclude(m.Proto.GetGraph(), p.opts.Exclude); err != nil {
		return nil, fmt.Errorf("prune %s: %w", p.model, err)
	}
	// One self-contained file per step where it fits (under 2 GiB), so the
	// `model` output carries everything; bigger models get <file>.data beside
	// them in `models`.
	m.External = false
	base, err := newBaseline(ctx, p, m.Proto, logger)
	if err != nil {
		return nil, err
	}
	defer base.close()
	if p.opts.Strategy == Structured {
		// Compensation and sensitivity measure on calibration, else data.
		var cal *calibration
		switch {
		case p.calib != "":
			d, err := transform.Data(base.info, base.outs, transform.DataOptions{Param: "calibration", Path: p.calib})
			if err != nil {
				return nil, fmt.Errorf("prune %s: %w", p.model, err)
			}
			defer d.Close()
			cal = &calibration{data: d, opts: p.evalOpts}
		case base.how == "data":
			cal = &calibration{data: base.v.Data, opts: p.evalOpts}
		}
		if p.opts.Allocation == Sensitivity {
			if cal == nil {
				return nil, fmt.Errorf("prune %s: allocation sensitivity needs data or calibration to measure on", p.model)
			}
			p.opts.sens = cal
		}
		switch {
		case !p.compensate:
		case cal != nil:
			p.opts.cal = cal
		default:
			logger.Info("no data or calibration: removed channels are not compensated in the next biases")
		}
	}
	var trials []Trial
	if p.target != nil {
		in.Report(0, 1, "searching the amount for the target")
		a, tr, err := searchAmount(ctx, p.run, m.Proto, p.opts, p.target, p.evalOpts.Threads, logger)
		trials = tr
		if err != nil {
			return nil, fmt.Errorf("prune %s: %w", p.model, err)
		}
		p.steps, p.labels = []float64{a}, []string{stepLabel(a)}
		logger.Info("target reached", "amount", stepLabel(a), "speedup", p.target.Speedup)
	}
	dir := filepath.Join(in.WorkDir, "models")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("prune: create %s: %w", dir, err)
	}
	rep := &report{Strategy: p.opts.Strategy, Scope: p.opts.Scope, Target: p.target, Trials: trials, Amount: p.steps[0],
		ParamsBefore: base.params, CompressedBefore: base.compressed, AccuracyBefore: base.accuracy}
	var warnings []string
	if p.opts.Strategy != Structured {
		rep.Note = sparseNote
		logger.Info("zeroed weights do not make ONNX Runtime faster: the gain is the compressed size (report: compressed_size_after)")
	}
	done := 0.0
	var last string
	for i, amount := range p.steps {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("prune: %w", context.Cause(ctx))
		}
		in.Report(int64(i), int64(len(p.steps)), "step "+p.labels[i])
		o := p.opts
		o.Amount = amount
		if o.Strategy == Structured && done > 0 {
			// The schedule counts original channels; this model has 1-done of them.
			o.Amount = (amount - done) / (1 - done)
		}
		res, err := Apply(ctx, m.Proto, o)
		if err != nil {
			return nil, fmt.Errorf("prune %s step %s: %w", p.model, p.labels[i], err)
		}
		done = amount
		warnings = append(warnings, logResult(logger, p.labels[i], o.Amount, res)...)
		// n:m labels hold a colon, which some file systems and tools reject.
		path := filepath.Join(dir, strings.ReplaceAll(p.labels[i], ":", "-")+".onnx")
		if err := transform.Save(m, path); err != nil {
			return nil, fmt.Errorf("prune: save step %s: %w", p.labels[i], err)
		}
		st, err := base.step(ctx, p, path, p.labels[i], m.Proto, res)
		if err != nil {
			return nil, err
		}
		logger.Info("pruned", "step", p.labels[i], "sparsity", fmt.Sprintf("%.4f", st.Sparsity),
			"params", st.ParamsAfter, "removed_channels", st.RemovedChannels,
			"zstd_weights", fmt.Sprintf("%d -> %d bytes", base.compressed, st.CompressedAfter))
		rep.Steps = append(rep.Steps, st)
		last = path
	}
	in.Report(int64(len(p.steps)), int64(len(p.steps)), "done")
	final := rep.Steps[len(rep.Steps)-1]
	rep.Report = *transform.NewReport(p.model, last, base.size, final.SizeAfter, tm)
	rep.Warn(warnings...)
	if base.v != nil {
		rep.Verification = transform.Verified(p.data, final.Comparison)
	}
	for _, t := range trials {
		if t.Amount == p.steps[0] {
			rep.Speed = t.speed
			rep.Warn(t.speed.Warnings("pruned model", "original")...)
		}
	}
	reportPath := filepath.Join(in.WorkDir, "report.json")
	if err := atomicfile.WriteJSON(reportPath, rep); err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	return &stages.Output{
		Files:  map[string]string{"model": last, "models": dir, "report": reportPath},
		Values: rep.values(),
	}, nil
}

// logResult tells the user what was left alone and why, and returns what it
// warned about.
func logResult(logger *log.Logger, label string, amount float64, res *Result) []string {
	if len(res.Skipped) > 0 {
		logger.Info("left dense: input axis not a multiple of m", "step", label, "weights", res.Skipped)
	}
	if res.Strategy != Structured {
		return nil
	}
	pinned, pruned := 0, 0
	for _, g := range res.Groups {
		switch {
		case g.Pinned != "":
			pinned++
			logger.Debug("channel group left alone", "step", label, "layers", g.Layers, "why", g.Pinned)
		case g.Removed > 0:
			pruned++
		}
	}
	logger.Info("channel groups", "step", label, "groups", len(res.Groups), "pruned", pruned, "pinned", pinned)
	if amount > 0 && pruned == 0 {
		w := "no channel was removed: every group is pinned or too small (see the report's groups)"
		logger.Warn(w, "step", label)
		return []string{fmt.Sprintf("step %s: %s", label, w)}
	}
	return nil
}
