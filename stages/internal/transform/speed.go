package transform

import (
	"context"
	"fmt"
	"time"

	"github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
	"github.com/sentinelzer0/szrun/stages/internal/stats"
)

// SpeedOptions says how Speed times models. The zero value times 30 runs per
// model at batch 1 on random inputs with ONNX Runtime's default threads.
type SpeedOptions struct {
	// Inputs is the one feed every model runs on. Without it each model
	// runs on Data (SpeedInputs: its first Batch samples, converted to the
	// model's input types, as verification feeds them), else on random
	// inputs (runtime.RandomInputs with Batch and Seed).
	Inputs []*runtime.Tensor
	Data   *evaluate.Data
	// Batch is the batch of the data or random inputs (default 1) and what
	// the report says was timed.
	Batch int64
	// Threads are ONNX Runtime's intra-op threads (0: its default);
	// Providers its execution providers (default CPU).
	Threads   int
	Providers []string
	// Runs is how many runs of each model are timed (default 30), in turns
	// of BlockRuns: rounded up to a whole number of turns.
	Runs int
	// BlockRuns is how many counted runs a model makes in one turn before the
	// next model's (default Runs/10, between 1 and 3: at least ten turns
	// where Runs allows, the bootstrap's blocks). One more run starts each
	// turn, not counted: the previous session's threads may still spin.
	BlockRuns int
	// Seed makes the random inputs and the bootstrap repeatable.
	Seed int64
}

func (o *SpeedOptions) applyDefaults() {
	if o.Batch <= 0 {
		o.Batch = 1
	}
	if o.Runs <= 0 {
		o.Runs = 30
	}
	if o.BlockRuns <= 0 {
		o.BlockRuns = max(1, min(3, o.Runs/10))
	}
}

// MaxSpread is the widest speedup interval, as a share of the speedup either
// side (0.1: ±10%), that Speed calls stable; MinTurns the fewest turns whose
// bootstrap interval it trusts.
const (
	MaxSpread = 0.1
	MinTurns  = 5
)

// Timing is what Speed measured.
type Timing struct {
	// Medians are each model's median run time in ms with its confidence
	// interval (stats.Confidence, a bootstrap over the turns).
	Medians []stats.Estimate
	// Speedups are the first model's median over each model's, with their
	// confidence intervals (Speedups[0] is 1).
	Speedups []stats.Speedup
	// Runs is the number of runs of each model that were counted.
	Runs int
	// Unstable says that some speedup's interval is wider than MaxSpread (the
	// machine was too busy for the figure to mean much) or that there were
	// fewer than MinTurns turns (too few to tell).
	Unstable bool
	// Turns is the number of turns each model took.
	Turns int
	o     SpeedOptions
}

// Speed times the models at paths side by side in ONNX Runtime's worker
// process: a few warm-up runs each, then turns in which each model in order
// makes BlockRuns timed runs (runtime.Runner.Time: the worker times the
// runs, in a loop that does not allocate, so the pipe is not in them).
// Interleaving the models and taking medians keeps a busy, shared machine
// from favouring whichever model ran in a quiet spell; the turns are the
// blocks of the bootstrap behind the intervals (package stats, as the
// benchmark stage's).
func Speed(ctx context.Context, paths []string, o SpeedOptions) (*Timing, error) {
	o.applyDefaults()
	runners := make([]*runtime.Runner, len(paths))
	for i, p := range paths {
		s, err := runtime.NewSession(ctx, p, runtime.SessionOptions{IntraOpThreads: o.Threads, InterOpThreads: 1, Providers: o.Providers})
		if err != nil {
			return nil, fmt.Errorf("time %s: %w", p, err)
		}
		defer s.Close()
		inputs := o.Inputs
		switch {
		case inputs != nil:
		case o.Data != nil:
			if inputs, err = SpeedInputs(o.Data, s.Inputs(), o.Batch); err != nil {
				return nil, fmt.Errorf("time %s: inputs from %s: %w", p, o.Data.Path, err)
			}
		default:
			if inputs, err = runtime.RandomInputs(s.Inputs(), nil, o.Batch, o.Seed); err != nil {
				return nil, fmt.Errorf("time %s: random inputs: %w", p, err)
			}
		}
		r, err := runtime.NewRunner(ctx, s, inputs)
		if err != nil {
			return nil, fmt.Errorf("time %s: %w", p, err)
		}
		defer r.Close()
		if _, err := r.Time(ctx, 3, nil); err != nil { // warm up
			return nil, fmt.Errorf("time %s: %w", p, err)
		}
		runners[i] = r
	}
	rounds := (o.Runs + o.BlockRuns - 1) / o.BlockRuns
	blocks := make([]stats.Blocks, len(paths))
	turn := make([]time.Duration, 0, o.BlockRuns+1)
	for range rounds {
		for i, r := range runners {
			var err error
			if turn, err = r.Time(ctx, o.BlockRuns+1, turn[:0]); err != nil {
				return nil, fmt.Errorf("time %s: %w", paths[i], err)
			}
			b := make([]float64, o.BlockRuns)
			for k, d := range turn[1:] {
				b[k] = float64(d) / float64(time.Millisecond)
			}
			blocks[i] = append(blocks[i], b)
		}
	}
	return summarize(blocks, o), nil
}

// summarize turns each model's blocks into medians and speedups over the
// first model.
func summarize(blocks []stats.Blocks, o SpeedOptions) *Timing {
	t := &Timing{Runs: blocks[0].Runs(), Turns: len(blocks[0]), o: o}
	t.Unstable = t.Turns < MinTurns
	rng := stats.NewRNG(o.Seed)
	boots := make([][]float64, len(blocks))
	for i, bs := range blocks {
		boots[i] = stats.BootstrapMedians(bs, stats.ResamplesFor(stats.Resamples, bs.Runs()), rng)
		t.Medians = append(t.Medians, stats.MedianCI(bs, append([]float64(nil), boots[i]...), stats.Confidence))
	}
	for i, m := range t.Medians {
		sp := stats.SpeedupCI(t.Medians[0].Value, m.Value, boots[0], boots[i], stats.Confidence)
		if i == 0 {
			sp = stats.Speedup{Estimate: stats.Estimate{Value: 1, Low: 1, High: 1}}
		}
		t.Unstable = t.Unstable || unstable(t.Turns, sp)
		t.Speedups = append(t.Speedups, sp)
	}
	return t
}

// SpeedReport is a report's `speed`: a transformed model timed side by side
// with the model it is compared with (the stage's input, or quantize's fp32
// baseline), medians in ms with their confidence intervals.
type SpeedReport struct {
	Batch   int64 `json:"batch"`
	Threads int   `json:"threads"`
	// Runs is the number of timed runs of each model.
	Runs         int     `json:"runs"`
	BeforeMS     float64 `json:"before_ms"`
	BeforeLowMS  float64 `json:"before_low_ms"`
	BeforeHighMS float64 `json:"before_high_ms"`
	AfterMS      float64 `json:"after_ms"`
	AfterLowMS   float64 `json:"after_low_ms"`
	AfterHighMS  float64 `json:"after_high_ms"`
	// Speedup is before_ms / after_ms; SpeedupLow and SpeedupHigh bound it
	// at Confidence.
	Speedup     float64 `json:"speedup"`
	SpeedupLow  float64 `json:"speedup_low"`
	SpeedupHigh float64 `json:"speedup_high"`
	Confidence  float64 `json:"confidence"`
	// PFaster is the share of bootstrap resamples in which the transformed
	// model is the faster.
	PFaster float64 `json:"p_faster"`
	// Turns is how many turns each model took (the bootstrap's blocks).
	Turns int `json:"turns"`
	// Unstable: the speedup's interval is wider than ±MaxSpread of it, or
	// there were fewer than MinTurns turns.
	Unstable bool `json:"unstable"`
}

// Report is model i against the first model.
func (t *Timing) Report(i int) *SpeedReport {
	b, a, s := t.Medians[0], t.Medians[i], t.Speedups[i]
	return &SpeedReport{Batch: t.o.Batch, Threads: t.o.Threads, Runs: t.Runs,
		BeforeMS: b.Value, BeforeLowMS: b.Low, BeforeHighMS: b.High,
		AfterMS: a.Value, AfterLowMS: a.Low, AfterHighMS: a.High,
		Speedup: s.Value, SpeedupLow: s.Low, SpeedupHigh: s.High, Confidence: stats.Confidence,
		PFaster: s.PFaster, Turns: t.Turns, Unstable: unstable(t.Turns, s)}
}

// unstable says whether a speedup measured over turns turns is too loose to
// trust: fewer than MinTurns turns, or an interval wider than ±MaxSpread of it.
func unstable(turns int, s stats.Speedup) bool {
	return turns < MinTurns || s.Value > 0 && (s.High-s.Low)/2/s.Value > MaxSpread
}

// Values adds the speedup and its interval to a stage's value outputs
// (speedup, speedup_low, speedup_high); a nil report adds zeros, which say
// that nothing was timed.
func (r *SpeedReport) Values(v map[string]any) {
	if r == nil {
		v["speedup"], v["speedup_low"], v["speedup_high"] = 0.0, 0.0, 0.0
		return
	}
	v["speedup"], v["speedup_low"], v["speedup_high"] = r.Speedup, r.SpeedupLow, r.SpeedupHigh
}

// Warnings says what a reader of the figures should know: that the timing
// was unstable, and that the transformed model (named what) is slower than
// the one it was timed with (named than).
func (r *SpeedReport) Warnings(what, than string) []string {
	var w []string
	switch {
	case r.Unstable && r.Turns < MinTurns:
		w = append(w, fmt.Sprintf("speed: timing unstable: %d turns of runs are too few to bound the speedup (%.2f), at least %d are needed: raise speed_iterations",
			r.Turns, r.Speedup, MinTurns))
	case r.Unstable:
		w = append(w, fmt.Sprintf("speed: timing unstable: the speedup's %.0f%% interval [%.2f, %.2f] is wider than ±%.0f%% of %.2f (a busy machine?): raise speed_iterations or time on a quiet machine",
			100*r.Confidence, r.SpeedupLow, r.SpeedupHigh, 100*MaxSpread, r.Speedup))
	}
	if r.Speedup < 1 {
		w = append(w, fmt.Sprintf("the %s is slower than the %s at batch %d: %.3f ms vs %.3f ms (%.2fx, %.0f%% interval [%.2f, %.2f])",
			what, than, r.Batch, r.AfterMS, r.BeforeMS, r.Speedup, 100*r.Confidence, r.SpeedupLow, r.SpeedupHigh))
	}
	return w
}

// SpeedInputs is the feed a speed check times: the first n samples of the
// data, its first rows repeated up to n when it has fewer; data fed one
// sample per run (stacked feeds) gives its first sample whatever n is.
func SpeedInputs(d *evaluate.Data, info []runtime.IOInfo, n int64) ([]*runtime.Tensor, error) {
	per, err := d.PerSample(info)
	if err != nil {
		return nil, err
	}
	if per || d.N >= n {
		return evaluate.FirstBatch(d, info, n)
	}
	first, err := evaluate.FirstBatch(d, info, d.N)
	if err != nil {
		return nil, err
	}
	out := make([]*runtime.Tensor, len(first))
	for i, t := range first {
		if len(t.Shape) == 0 {
			out[i] = t
			continue
		}
		shape := append([]int64{n}, t.Shape[1:]...)
		nt, err := runtime.NewTensor(t.Name, t.DType, shape)
		if err != nil {
			return nil, err
		}
		src, dst := t.Bytes(), nt.Bytes()
		for off := 0; off < len(dst); off += len(src) {
			copy(dst[off:], src)
		}
		out[i] = nt
	}
	return out, nil
}
