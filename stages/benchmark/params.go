package benchmark

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// config is the stage's parameters, checked.
type config struct {
	models     map[string]string
	names      []string // sorted
	baseline   string
	inputs     string // data file; "" = random
	shapes     map[string][]int64
	fixed      map[string]any // fixed_inputs
	seed       int64
	batches    []int64
	warmup     int64
	iterations int64
	duration   time.Duration
	block      int64
	threads    int
	providers  []string
	budgetMS   float64 // 0 = none
	maxCV      float64
	// precision > 0 times adaptively: until the median's CI half-width is
	// within this fraction of it, or maxDuration has passed.
	precision   float64
	maxDuration time.Duration
}

// Params are the stage's parameters.
type Params struct {
	Models              map[string]any `name:"models" elem:"model" required:"true" doc:"name -> model; a value may be a map label -> model (a matrix output), flattened to its labels"`
	Baseline            string         `name:"baseline" doc:"the model the others are compared with; default: the only plain (non-map) entry of models, else the first name"`
	stages.Verification `omit:"samples" alias.data:"inputs" key.data:"inputs" doc.data:".npz or folder of .npy named like the model inputs; rows are repeated to fill a batch. Default: random inputs" doc.shapes:"random inputs: input name -> full shape ([1, 128] for [batch, seq]; axis 0 is set by batch_sizes); a shape without the batch dim is still read"`
	Seed                int64         `name:"seed" default:"0" doc:"random inputs' seed"`
	BatchSizes          []int64       `name:"batch_sizes" default:"[1]" doc:"batch sizes to measure"`
	Warmup              int64         `name:"warmup" default:"10" doc:"untimed runs per model and batch size"`
	Iterations          int64         `name:"iterations" default:"100" doc:"timed runs per model and batch size: the least with precision, exactly this many with precision: 0"`
	Precision           float64       `name:"precision" default:"0.02" doc:"adaptive timing: time each model and batch size until its median's 95% confidence interval is within ± this fraction of it (0.02 = ±2%), or max_duration passes; 0 = a fixed count of iterations"`
	MaxDuration         time.Duration `name:"max_duration" default:"10s" doc:"adaptive timing: stop timing a model and batch size after this much timed run time even if precision is not reached (reported)"`
	Duration            time.Duration `name:"duration" doc:"instead of iterations and precision: time each model and batch size for at least this long (e.g. 10s)"`
	Block               int64         `name:"block" default:"10" doc:"runs per turn in the rotation between models"`
	stages.Execution
	LatencyBudgetMS *float64 `name:"latency_budget_ms" doc:"with it, best_batch_size gives per model the batch size of highest throughput whose p95 fits"`
	MaxCV           float64  `name:"max_cv" default:"0.15" doc:"without adaptive timing (precision: 0): warn when a timing's coefficient of variation (stddev/mean) exceeds this"`
}

// Check holds the rules across parameters.
func (p *Params) Check() error {
	var errs stages.ParamErrors
	add := func(e *stages.ParamError) { errs = append(errs, e) }
	if p.Baseline != "" && p.Models != nil {
		if names := evaluate.ModelNames(p.Models); !slices.Contains(names, p.Baseline) {
			msg := fmt.Sprintf("%q is not one of the models (%s)", p.Baseline, strings.Join(names, ", "))
			if near := stages.Nearest(p.Baseline, names); near != "" {
				msg += fmt.Sprintf("; did you mean %q?", near)
			}
			add(stages.Errorf("baseline", "%s", msg))
		}
	}
	if p.Data != "" && len(p.Shapes) > 0 {
		add(stages.Errorf("shapes", "only random inputs (no `data`) take shapes").Reading("data"))
	}
	if len(p.BatchSizes) == 0 {
		add(stages.Errorf("batch_sizes", "no batch size given"))
	}
	for i, b := range p.BatchSizes {
		if b <= 0 {
			add(stages.Errorf(fmt.Sprintf("batch_sizes[%d]", i), "%d is not a positive batch size", b))
		} else if slices.Contains(p.BatchSizes[:i], b) {
			add(stages.Errorf(fmt.Sprintf("batch_sizes[%d]", i), "%d is listed twice", b))
		}
	}
	switch {
	case p.Duration < 0:
		add(stages.Errorf("duration", "%s is negative", p.Duration))
	case p.Duration == 0 && p.Iterations <= 0:
		add(stages.Errorf("iterations", "%d; need at least 1 timed run (or set duration)", p.Iterations).Reading("duration"))
	}
	if p.Warmup < 0 {
		add(stages.Errorf("warmup", "%d is negative", p.Warmup))
	}
	if p.Block <= 0 {
		add(stages.Errorf("block", "%d; need at least 1 run per turn", p.Block))
	}
	if p.MaxCV <= 0 {
		add(stages.Errorf("max_cv", "%g must be positive", p.MaxCV))
	}
	switch {
	case !(p.Precision >= 0 && p.Precision < 1):
		add(stages.Errorf("precision", "%g; want a fraction of the median in [0, 1) (0.02 = ±2%%; 0 = exactly iterations runs)", p.Precision))
	case p.Precision > 0 && p.Duration == 0 && p.MaxDuration <= 0:
		add(stages.Errorf("max_duration", "%s; adaptive timing (precision %g) needs a positive limit", p.MaxDuration, p.Precision).Reading("precision"))
	}
	if p.LatencyBudgetMS != nil && *p.LatencyBudgetMS <= 0 {
		add(stages.Errorf("latency_budget_ms", "%g must be positive", *p.LatencyBudgetMS))
	}
	return errs.Err()
}

// parse decodes and checks every parameter; errors name the parameter.
func parse(in *stages.Input) (*config, error) {
	var p Params
	if err := in.Decode(&p); err != nil {
		return nil, err
	}
	c := &config{inputs: p.Data, shapes: p.Shapes, fixed: p.FixedInputs, seed: p.Seed, batches: p.BatchSizes, warmup: p.Warmup,
		iterations: p.Iterations, duration: p.Duration, block: p.Block, threads: int(p.Threads),
		providers: p.Providers, maxCV: p.MaxCV, precision: p.Precision, maxDuration: p.MaxDuration}
	if p.LatencyBudgetMS != nil {
		c.budgetMS = *p.LatencyBudgetMS
	}
	var err error
	if c.models, err = evaluate.FlattenModels("models", p.Models); err != nil {
		return nil, err
	}
	for name := range c.models {
		c.names = append(c.names, name)
	}
	slices.Sort(c.names)
	for _, name := range c.names {
		if _, err := os.Stat(c.models[name]); err != nil {
			return nil, fmt.Errorf("models.%s: %w", name, err)
		}
	}
	if c.baseline, err = pickBaseline(p.Baseline, p.Models, c.names); err != nil {
		return nil, err
	}
	return c, nil
}

// pickBaseline returns the given baseline (Check made sure it names a model)
// or the default: the only plain (non-map) entry of models, else the first
// name.
func pickBaseline(given string, raw map[string]any, names []string) (string, error) {
	if given != "" {
		return given, nil
	}
	var plain []string
	for name, v := range raw {
		if _, nested := v.(map[string]any); !nested {
			plain = append(plain, name)
		}
	}
	if len(plain) == 1 {
		return plain[0], nil
	}
	return names[0], nil
}
