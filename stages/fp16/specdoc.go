package fp16

const specDoc = "Converts a float32 model to float16 natively in Go: weights are stored as\n" +
	"float16 (half the size) and nodes compute in float16 wherever that is safe.\n" +
	"The model is normalized first, as every model stage does (opset 6 lifted to 7,\n" +
	"ONNX Runtime's FusedConv/FusedGemm/FusedMatMul split back into standard ops,\n" +
	"Constant and Identity chains resolved; the report's `normalized` says what).\n" +
	`
**What stays float32, and why** (each case is listed in the report):

- ops in ` + "`op_block_list`" + `. Giving the list replaces the default (` + "`[]`" + ` blocks
  nothing); an op name no ONNX op has only warns. The default: Range, CumSum,
  TopK, NonMaxSuppression, RoiAlign (indices, counts, boxes, thresholds); the
  generators ONNX Runtime's CPU provider cannot run in float16 (EyeLike,
  RandomNormal, RandomNormalLike, RandomUniform, RandomUniformLike, Bernoulli,
  HannWindow, HammingWindow, BlackmanWindow, MelWeightMatrix: they generate in
  float32 and a Cast follows); MeanVarianceNormalization (ONNX Runtime's
  float16 expansion of it does not type-check); and the ONNX-ML ops
  (ArrayFeatureExtractor, Binarizer, CastMap, CategoryMapper, DictVectorizer,
  FeatureVectorizer, Imputer, LabelEncoder, LinearClassifier, LinearRegressor,
  Normalizer, OneHotEncoder, SVMClassifier, SVMRegressor, Scaler, TreeEnsemble,
  TreeEnsembleClassifier, TreeEnsembleRegressor, ZipMap).
- ScatterElements and ScatterND with a reduction (add, mul, max, min): ONNX
  Runtime has no float16 kernel for them.
- nodes named in ` + "`exclude`" + ` (a name the model lacks is an error). A
  blocked If/Loop/Scan keeps its bodies float32 too.
- inputs whose signature forbids float16 (Resize scales, LayerNormalization's
  mean/inv-std outputs, IsInf, Celu, QuantizeLinear scales...) and Resize's
  roi: the node converts, that input or output stays float32.
- **integer-valued float maths**: float arithmetic that computes a shape,
  size, index, count or axes (walking back from Reshape/Expand/Tile shapes,
  Range, Slice starts/ends, Resize sizes/scales, ConstantOfShape, TopK k,
  OneHot depth, Gather indices...) through Cast/Add/Mul/Div/Floor/Concat/...
  up to Shape/Size; and anything computed only from Shape/Size and small
  constants (a 1/sqrt(head_dim) scale, a sinusoidal table from Range: a
  3000-long one is 64% off in float16). float16 holds integers exactly only
  up to 2048; these tensors are shape-sized, so float32 costs nothing.
- ops outside ai.onnx, except the com.microsoft fused ops ONNX Runtime's
  optimizer writes at level extended (FusedConv, FusedGemm, FusedMatMul,
  Gelu, FastGelu, BiasGelu, QuickGelu, BiasAdd, SkipLayerNormalization),
  which convert; the NCHWc layout ops of level ` + "`all`" + ` stay float32, so
  convert before an ` + "`all`" + ` optimization, not after. Nodes using sequences
  or optionals stay as they are.

**Boundaries.** Every value has one type; a reader wanting the other type gets
a Cast placed right after the value is defined, shared by all such readers,
including readers inside If/Loop/Scan bodies (outer-scope captures). An
initializer read by both float32 and float16 nodes is kept twice (float32 and
float16 copies, listed as ` + "`shared_initializers`" + `). With ` + "`keep_io_types`" + ` (default)
graph inputs and outputs stay float32 under their names. Cascaded Casts are
removed where that is exact (fp16->fp32->fp16); a narrowing pair such as
fp32->fp16->fp32 is a rounding and is kept. The graph stays topologically sorted.

**Clamping.** Weights beyond ±65504 become ±65504 (not infinity) and non-zero
weights below 2^-24 in magnitude become ±2^-24 (not zero, so epsilons survive);
` + "`clamped_values`" + ` counts them, the report lists them per tensor.

**Verification** (` + "`verify: true`" + `). Both models run in ONNX Runtime on ` + "`data`" + ` or
` + "`samples`" + ` random samples (` + "`shapes`" + `, ` + "`fixed_inputs`" + `: see "Data for
verification and calibration"; without keep_io_types the float32 data is converted
to float16 as it is fed). Every output must be free of NaN/Inf the
original does not have, and max|fp16 - fp32| / max|fp32| must stay within
the parameter ` + "`max_rel_error`" + ` (default 0.05); the output of that name reports the worst one. The default
catches broken conversions (whose errors are of order 1) without failing on
the rounding a deep network accumulates in float16 (MobileNetV2 with random
weights: 0.019, cosine 0.9999, same top-1); gate accuracy with ` + "`compare`" + `. ONNX Runtime's CPU
provider lacks float16 kernels for many ops and inserts its own Casts, so CPU
timings of an fp16 model say little; the size and GPU speed are the point.
It also removes the float32->float16->float32 Cast pairs it creates that
way, so on CPU such ops effectively run in float32 and the measured error is
smaller than on a GPU: set ` + "`providers: [cuda]`" + ` to verify the float16 model where
it will run (the float32 reference always runs on CPU).

**Fallback** (` + "`fallback: auto`" + `, the default; needs ` + "`verify`" + `). When the float16 model
fails to load or run in ONNX Runtime, or fails verification, the stage looks for a small
set of nodes to keep in float32 until it passes. The candidates are the main graph's
nodes that compute in float16, grouped into units: a node together with the same node in
the model's other repeated blocks (` + "`layers.0`" + ` ... ` + "`layers.11`" + `, ` + "`encoder_layer_0`" + ` ...), which
usually fail the same way. With the units in topological order and S the units found so
far (first none), it bisects for the shortest prefix P such that S plus P in float32
passes; P's last unit is needed (without it the model failed), so it joins S, and the
search repeats until S alone passes: about log2(units) conversions per unit kept, at most
64 in all (past that it keeps the known-good prefix). When the conversion crashed ONNX
Runtime, it first tries keeping only the op types known to crash it (Transpose: ONNX
Runtime 1.30 segfaults on the float16 Transposes of torch's attention blocks) and, when that passes, searches among those:
torchvision's vit_b_16 (opset 13) takes 12 conversions instead of 68 and keeps 36
Transposes instead of 977 nodes. The last passing conversion is the model shipped (no
conversion again). Each node kept is in the report's ` + "`fallback.kept_float32`" + ` with its op and
the failure seen without it, and in the log; ` + "`fallback_nodes`" + ` counts them. The stage fails
only when even every converted node in float32 does not pass. ` + "`fallback: off`" + ` fails on the
first failure, as before. A native crash of ONNX Runtime (in its worker process) is a load
failure like any other: torch.nn.TransformerEncoder exported at opset 13, whose float16 form
segfaults ONNX Runtime 1.30, ships with its self-attention Transposes kept in float32.

**Speed** (` + "`verify_speed: true`" + `, off by default so nothing gets slower). The float16
model is timed side by side with the float32 one on ` + "`providers`" + ` at batch 1 on the first
sample of the data: values ` + "`speedup`, `speedup_low`, `speedup_high`" + ` and the report's
` + "`speed`" + `; a slower model or unstable timing is a warning (expect one on CPU, see above).
See "Model transforms" for how it is timed.

**Report.** ` + "`report`" + ` is report.json with every transform's shared keys (its
` + "`verification`" + ` holds each output's comparison) and the conversion's own: ` + "`keep_io_types`" + `,
` + "`max_rel_error`" + `, top-level ` + "`accuracy_before`, `accuracy`, `accuracy_drop`" + ` on labelled data,
` + "`fallback`" + `, and what the conversion did (` + "`converted_nodes`, `blocked`, `kept_inputs`" + `,
` + "`clamped`, `casts_inserted`, `casts_removed`" + `, ...).

**Refused input.** A model ONNX Runtime cannot load, and a model that is
already float16 (no float32 tensors: the error says so; running fp16 twice is
a recipe mistake, not something to pass over silently).

Example:

` + "```yaml" + `
stages:
  fp16:
    uses: fp16
    with:
      model: ../examples/models/encoder.onnx
      data: ../examples/data/encoder_inputs.npz
      exclude: [/head/Gemm]   # keep the head in float32
  gate:
    uses: assert
    with:
      checks:
        - that: ${{ stages.fp16.outputs.size_after * 1.9 < stages.fp16.outputs.size_before }}
` + "```" + `
`
