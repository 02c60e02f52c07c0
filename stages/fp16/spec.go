package fp16

import "github.com/sentinelzer0/szrun/stages"

// Stage is the `fp16` stage.
type Stage struct{}

var _ stages.Stage = (*Stage)(nil)

// New returns the fp16 stage.
func New() *Stage { return &Stage{} }

// Spec declares the stage.
func (s *Stage) Spec() stages.Spec {
	return stages.Spec{
		Name:    "fp16",
		Version: "1",
		Summary: "Convert float32 to float16 with safe boundaries, then verify in ONNX Runtime.",
		Doc:     specDoc,
		Params: []stages.Param{
			{Name: "model", Type: stages.Model, Required: true, Doc: "the float32 ONNX model"},
			{Name: "keep_io_types", Type: stages.Bool, Default: true, Doc: "keep float32 graph inputs and outputs (Casts inside); false makes them float16"},
			{Name: "op_block_list", Type: stages.List, Elem: stages.String,
				Doc: "op types that stay float32, replacing the default list (below); unknown names warn"},
			{Name: "node_block_list", Type: stages.List, Elem: stages.String, Doc: "node names that stay float32 (unknown names are an error)"},
			{Name: "verify", Type: stages.Bool, Default: true, Doc: "run both models and require finite outputs within rtol"},
			{Name: "inputs", Type: stages.Path, Doc: "data to verify with (.npz, .npy, folder of .npy); default: random"},
			{Name: "shapes", Type: stages.Map, Elem: stages.List, Doc: "input name -> shape without the batch dim, for random inputs with other dynamic dims"},
			{Name: "samples", Type: stages.Int, Default: int64(4), Doc: "random samples to verify with"},
			{Name: "rtol", Type: stages.Float, Default: 0.05, Doc: "largest allowed max|fp16-fp32| / max|fp32| per output"},
			{Name: "threads", Type: stages.Int, Default: int64(0), Doc: "ONNX Runtime intra-op threads for verification; 0 = default"},
			{Name: "providers", Type: stages.List, Elem: stages.String, Doc: "execution providers to verify the float16 model on (cuda, tensorrt, cpu); default cpu"},
		},
		Outputs: []stages.OutputSpec{
			{Name: "model", Kind: stages.FileOutput, Doc: "the float16 model (model.onnx)"},
			{Name: "report", Kind: stages.FileOutput, Doc: "report.json: what stayed float32 and why, clamping, casts, verification"},
			{Name: "converted_nodes", Kind: stages.ValueOutput, Type: "number", Doc: "nodes now computing in float16"},
			{Name: "blocked_nodes", Kind: stages.ValueOutput, Type: "number", Doc: "nodes with float32 values that stayed float32"},
			{Name: "clamped_values", Kind: stages.ValueOutput, Type: "number", Doc: "weights moved into float16's range"},
			{Name: "size_before", Kind: stages.ValueOutput, Type: "number", Doc: "original file size in bytes"},
			{Name: "size_after", Kind: stages.ValueOutput, Type: "number", Doc: "float16 file size in bytes"},
			{Name: "max_rel_error", Kind: stages.ValueOutput, Type: "number", Doc: "max over outputs of max|fp16-fp32| / max|fp32| (0 without verify)"},
		},
	}
}
