package fp16

import "errors"

// Sentinel errors of Convert.
var (
	// ErrAlreadyFloat16: the model holds float16 tensors and no float32 ones.
	ErrAlreadyFloat16 = errors.New("model is already float16: it has no float32 tensors")
	// ErrNoFloat32: the model has no float32 tensors at all.
	ErrNoFloat32 = errors.New("model has no float32 tensors to convert")
	// ErrUnknownNode: node_block_list names a node the model does not have.
	ErrUnknownNode = errors.New("no such node")
)

// Options controls Convert. The zero value is the default.
type Options struct {
	// FP16IO makes float32 graph inputs and outputs float16 too
	// (keep_io_types: false). By default they stay float32 and Casts are
	// inserted after the inputs and before the outputs.
	FP16IO bool
	// OpBlockList names op types that stay float32; nil means
	// DefaultOpBlockList, an empty non-nil list blocks nothing.
	OpBlockList []string
	// NodeBlockList names nodes that stay float32; a name the model does not
	// have is an error wrapping ErrUnknownNode.
	NodeBlockList []string
	// Warn receives warnings (an op_block_list entry no ONNX op is called);
	// nil drops them.
	Warn func(msg string)
	// Dir is the model's directory: tensors whose data is still in external
	// files (onnx.LoadOptions.KeepExternal) are read from there chunk by chunk
	// as they are converted, so the float32 weights are never held whole.
	Dir string
}

// Blocked is a node that reads or writes float32 and stayed float32.
type Blocked struct {
	Node   string `json:"node"`
	Op     string `json:"op"`
	Graph  string `json:"graph"`
	Reason string `json:"reason"`
}

// KeptInput is an input of a float16 node that stays float32.
type KeptInput struct {
	Node   string `json:"node"`
	Op     string `json:"op"`
	Input  int    `json:"input"`
	Reason string `json:"reason"`
}

// Clamped counts the weights of one tensor moved into float16's range.
type Clamped struct {
	Tensor    string `json:"tensor"`
	Overflow  int64  `json:"overflow"`
	Underflow int64  `json:"underflow"`
}

// Result says what Convert did.
type Result struct {
	// ConvertedNodes counts nodes that now compute in float16.
	ConvertedNodes int `json:"converted_nodes"`
	// Blocked lists, in graph order, the nodes that stayed float32 and why.
	Blocked []Blocked `json:"blocked"`
	// KeptInputs lists float32 inputs of converted nodes that stay float32:
	// Resize's roi and scales, and inputs whose signature has no float16.
	KeptInputs []KeptInput `json:"kept_inputs"`
	// ConvertedInitializers counts float32 initializers stored as float16.
	ConvertedInitializers int `json:"converted_initializers"`
	// SharedInitializers are float32 initializers read by both float32 and
	// float16 nodes: both a float32 and a float16 copy are kept.
	SharedInitializers []string `json:"shared_initializers"`
	// Clamped lists tensors with values outside float16's range: overflow
	// beyond ±65504 became ±65504, and non-zero values smaller than 2^-24 in
	// magnitude became ±2^-24 instead of flushing to zero.
	Clamped []Clamped `json:"clamped"`
	// Float32Initializers lists the float32 initializers left as they were
	// (read only by nodes that stayed float32).
	Float32Initializers []string `json:"float32_initializers"`
	// CastsInserted and CastsRemoved count Cast nodes added at boundaries
	// and removed as redundant (cascaded or no-op casts).
	CastsInserted int `json:"casts_inserted"`
	CastsRemoved  int `json:"casts_removed"`
	// OpsetUpgradedFrom is the ai.onnx opset (1-5) the model imported when
	// Convert lifted it to 6, which it does only where no node's meaning
	// changes; 0 otherwise.
	OpsetUpgradedFrom int64 `json:"opset_upgraded_from,omitempty"`
	// Warnings repeats what was passed to Options.Warn (the stage's report
	// carries them in its shared warnings).
	Warnings []string `json:"-"`
	// converted names the main graph's nodes that now compute in float16,
	// in graph order: what the fallback may keep in float32.
	converted []string
}

// ClampedValues is the total number of values clamped.
func (r *Result) ClampedValues() int64 {
	var n int64
	for _, c := range r.Clamped {
		n += c.Overflow + c.Underflow
	}
	return n
}
