package benchmark

import (
	"errors"
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
}

// parse validates every parameter; errors name the parameter.
func parse(in *stages.Input) (*config, error) {
	c := &config{inputs: in.String("inputs"), seed: in.Int("seed"), warmup: in.Int("warmup"),
		iterations: in.Int("iterations"), duration: in.Duration("duration"), block: in.Int("block"),
		threads: int(in.Int("threads")), maxCV: in.Float("max_cv")}
	var err error
	raw := in.Map("models")
	if c.models, err = evaluate.FlattenModels("models", raw); err != nil {
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
	if c.baseline, err = pickBaseline(in.String("baseline"), raw, c.names); err != nil {
		return nil, err
	}
	if c.shapes, err = evaluate.Shapes("shapes", in.Map("shapes")); err != nil {
		return nil, err
	}
	if c.inputs != "" && len(c.shapes) > 0 {
		return nil, errors.New("shapes: only random inputs (no `inputs`) take shapes")
	}
	for i, v := range in.List("batch_sizes") {
		b, _ := v.(int64)
		if b <= 0 {
			return nil, fmt.Errorf("batch_sizes[%d]: %v is not a positive batch size", i, v)
		}
		if slices.Contains(c.batches, b) {
			return nil, fmt.Errorf("batch_sizes[%d]: %d is listed twice", i, b)
		}
		c.batches = append(c.batches, b)
	}
	if len(c.batches) == 0 {
		return nil, errors.New("batch_sizes: no batch size given")
	}
	switch {
	case c.duration < 0:
		return nil, fmt.Errorf("duration: %s is negative", c.duration)
	case c.duration == 0 && c.iterations <= 0:
		return nil, fmt.Errorf("iterations: %d; need at least 1 timed run (or set duration)", c.iterations)
	case c.warmup < 0:
		return nil, fmt.Errorf("warmup: %d is negative", c.warmup)
	case c.block <= 0:
		return nil, fmt.Errorf("block: %d; need at least 1 run per turn", c.block)
	case c.threads < 0:
		return nil, fmt.Errorf("threads: %d is negative", c.threads)
	case c.maxCV <= 0:
		return nil, fmt.Errorf("max_cv: %g must be positive", c.maxCV)
	}
	if in.Has("latency_budget_ms") {
		if c.budgetMS = in.Float("latency_budget_ms"); c.budgetMS <= 0 {
			return nil, fmt.Errorf("latency_budget_ms: %g must be positive", c.budgetMS)
		}
	}
	if c.providers, err = evaluate.CheckProviders("providers", in.List("providers")); err != nil {
		return nil, err
	}
	return c, nil
}

// pickBaseline returns the given baseline, checked, or the default: the only plain
// (non-map) entry of models, else the first name.
func pickBaseline(given string, raw map[string]any, names []string) (string, error) {
	if given != "" {
		if !slices.Contains(names, given) {
			msg := fmt.Sprintf("baseline: %q is not one of the models (%s)", given, strings.Join(names, ", "))
			if near := stages.Nearest(given, names); near != "" {
				msg += fmt.Sprintf("; did you mean %q?", near)
			}
			return "", errors.New(msg)
		}
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
