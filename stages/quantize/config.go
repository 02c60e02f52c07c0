package quantize

import (
	"sort"

	"github.com/sentinelzer0/szrun/stages/quantize/qmath"
)

// The modes and formats.
const (
	ModeDynamic = "int8-dynamic"
	ModeStatic  = "int8-static"
	FormatQDQ   = "qdq"
	FormatQOp   = "qoperator"
)

// Config says what to quantize and how. The zero value is not useful; the
// stage builds one from its parameters.
type Config struct {
	Mode        string
	Format      string
	PerChannel  bool
	Weight      qmath.Type
	Activation  qmath.Type
	SymWeights  bool
	SymActs     bool
	ReduceRange bool
	// OpTypes limits quantization to these op types; empty means the mode's
	// defaults.
	OpTypes map[string]bool
	// Exclude names nodes the user keeps in float.
	Exclude map[string]bool
	// Float names nodes the accuracy budget keeps in float.
	Float map[string]bool
	// Dir is the model's directory: weights whose data is still in external
	// files (onnx.LoadOptions.KeepExternal) are read from there one at a time.
	Dir string
}

// DefaultOpTypes are the op types each mode quantizes by default: those
// ONNX Runtime's CPU engine runs faster in INT8.
var DefaultOpTypes = map[string][]string{
	ModeDynamic: {"Gather", "Gemm", "MatMul"},
	ModeStatic: {"Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Conv", "Flatten", "Gather", "Gemm", "GlobalAveragePool",
		"HardSigmoid", "HardSwish", "LeakyRelu", "MatMul", "MaxPool", "Mul", "ReduceMean", "Relu", "Reshape", "Sigmoid", "Slice", "Squeeze", "Transpose", "Unsqueeze"},
}

func (c *Config) selected(op string) bool {
	if len(c.OpTypes) > 0 {
		return c.OpTypes[op]
	}
	for _, o := range DefaultOpTypes[c.Mode] {
		if o == op {
			return true
		}
	}
	return false
}

// Decision is what happened to one node.
type Decision struct {
	Node      string `json:"node"`
	OpType    string `json:"op_type"`
	Quantized bool   `json:"quantized"`
	// As names what the node became ("DynamicQuantizeMatMul", "QDQ",
	// "QLinearConv", "folded into conv1").
	As     string `json:"as,omitempty"`
	Reason string `json:"reason"`
}

func (c *Config) weightOptions() qmath.Options {
	return qmath.Options{Type: c.Weight, Symmetric: c.SymWeights, ReduceRange: c.ReduceRange}
}

// summary is the configuration as the report shows it.
func (c *Config) summary() map[string]any {
	ops := []string{}
	for op := range c.OpTypes {
		ops = append(ops, op)
	}
	if len(ops) == 0 {
		ops = append(ops, DefaultOpTypes[c.Mode]...)
	}
	sort.Strings(ops)
	act := c.Activation.String()
	if c.Mode == ModeDynamic {
		act = "uint8" // DynamicQuantizeMatMul quantizes activations to uint8 at run time
	}
	return map[string]any{
		"per_channel": c.PerChannel, "weight_type": c.Weight.String(), "activation_type": act,
		"symmetric_weights": c.SymWeights, "symmetric_activations": c.SymActs, "reduce_range": c.ReduceRange,
		"op_types": ops,
	}
}
