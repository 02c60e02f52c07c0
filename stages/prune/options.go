package prune

import (
	"fmt"

	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sentinelzer0/szrun/runtime"
)

// The pruning strategies.
const (
	Magnitude  = "magnitude"
	Random     = "random"
	Structured = "structured"
	NM         = "n:m"
)

// DefaultOpTypes are the layer types pruned when Options.OpTypes is empty.
var DefaultOpTypes = []string{"Conv", "Gemm", "MatMul"}

// Options says how to prune one model. The zero value is magnitude pruning of
// nothing (Amount 0) in every Conv, Gemm and MatMul layer, scope "global".
type Options struct {
	// Strategy is Magnitude (default), Random, Structured or NM.
	Strategy string
	// Amount is the target fraction in [0, 1): of zero weights (magnitude,
	// random) or of removed output channels (structured). Unused by NM.
	Amount float64
	// Scope is "global" (default: Amount of all candidates together, least
	// important first) or "layer" (every layer, or channel group, loses Amount).
	Scope string
	// OpTypes are the layer types pruned: Conv, Gemm, MatMul (default all three).
	OpTypes []string
	// Exclude names nodes or weight initializers left alone.
	Exclude []string
	// Seed drives the random strategy.
	Seed int64
	// Norm ranks channels for Structured: "l2" (default) or "l1".
	Norm string
	// Multiple makes structured pruning keep a multiple of this many channels
	// per group (the nearest to Amount), since CPU and GPU kernels work on
	// blocks of 8 (AVX2) or 16 (AVX-512) channels and pad the rest: a count off the
	// block size buys little speed, and ORT falls back from its blocked
	// layout. 0 means 16 (measured on the torchvision zoo: docs/pruning.md); 1
	// prunes exactly Amount.
	Multiple int
	// Pattern is "N:M" for NM: keep N of every M consecutive weights along
	// the reduction axis (default "2:4").
	Pattern string

	// Allocation is how structured pruning shares Amount between channel
	// groups: Uniform (default: Scope decides) or Sensitivity (measure each
	// group's cost on Calibration, or the stage's data, and prune the least
	// sensitive hardest).
	Allocation string

	// Calibration, when set, holds model inputs (name -> [N, ...] tensor) over
	// which structured pruning measures the removed channels' mean
	// activations, to fold them into the next layers' biases.
	Calibration map[string]*runtime.Tensor

	// cal is Calibration ready to run (the stage sets it directly).
	cal *calibration
	// sens is the data sensitivity allocation measures on.
	sens *calibration
}

func (o *Options) applyDefaults() {
	if o.Strategy == "" {
		o.Strategy = Magnitude
	}
	if o.Scope == "" {
		o.Scope = "global"
	}
	if len(o.OpTypes) == 0 {
		o.OpTypes = DefaultOpTypes
	}
	if o.Norm == "" {
		o.Norm = "l2"
	}
	if o.Multiple == 0 {
		o.Multiple = 16
	}
	if o.Pattern == "" {
		o.Pattern = "2:4"
	}
	if o.Allocation == "" {
		o.Allocation = Uniform
	}
}

// validate checks everything that does not need the model.
func (o *Options) validate() error {
	switch o.Strategy {
	case Magnitude, Random, Structured, NM:
	default:
		return fmt.Errorf("strategy %q: want magnitude, random, structured or n:m", o.Strategy)
	}
	if err := checkAmount("amount", o.Amount); err != nil {
		return err
	}
	if o.Scope != "layer" && o.Scope != "global" {
		return fmt.Errorf("scope %q: want layer or global", o.Scope)
	}
	if o.Allocation != Uniform && o.Allocation != Sensitivity {
		return fmt.Errorf("allocation %q: want uniform or sensitivity", o.Allocation)
	}
	if o.Allocation == Sensitivity && o.Strategy != Structured {
		return fmt.Errorf("allocation sensitivity: only for strategy structured, not %s", o.Strategy)
	}
	if o.Multiple < 0 {
		return fmt.Errorf("channel_multiple %d: must be 0 or more", o.Multiple)
	}
	if o.Norm != "l1" && o.Norm != "l2" {
		return fmt.Errorf("norm %q: want l1 or l2", o.Norm)
	}
	for _, op := range o.OpTypes {
		if !slices.Contains(DefaultOpTypes, op) {
			return fmt.Errorf("op_types: %q is not supported; want some of %s", op, strings.Join(DefaultOpTypes, ", "))
		}
	}
	if _, _, err := ParsePattern(o.Pattern); err != nil {
		return err
	}
	return nil
}

func checkAmount(name string, v float64) error {
	if math.IsNaN(v) || v < 0 || v >= 1 {
		return fmt.Errorf("%s %v: must be in [0, 1)", name, v)
	}
	return nil
}

// ParsePattern reads an "N:M" sparsity pattern with 0 < N < M.
func ParsePattern(p string) (n, m int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(p), ":")
	if ok {
		n, err1 := strconv.Atoi(strings.TrimSpace(a))
		m, err2 := strconv.Atoi(strings.TrimSpace(b))
		if err1 == nil && err2 == nil && n > 0 && n < m {
			return n, m, nil
		}
	}
	return 0, 0, fmt.Errorf("pattern %q: want \"N:M\" with 0 < N < M, such as \"2:4\" (keep 2 of every 4)", p)
}

// checkSchedule validates an iterative schedule: increasing amounts in [0, 1).
func checkSchedule(s []float64) error {
	for i, v := range s {
		if err := checkAmount(fmt.Sprintf("schedule[%d]", i), v); err != nil {
			return fmt.Errorf("schedule %v: %w", s, err)
		}
		if i > 0 && v <= s[i-1] {
			return fmt.Errorf("schedule %v: must be increasing, but schedule[%d] = %v follows %v", s, i, v, s[i-1])
		}
	}
	return nil
}

// stepLabel names a schedule step by its amount ("0.3").
func stepLabel(a float64) string { return strconv.FormatFloat(a, 'f', -1, 64) }
