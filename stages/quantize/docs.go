package quantize

const specDoc = "Quantizes an fp32 ONNX model to INT8 and proves the result: every output\n" +
	"model is loaded and run in ONNX Runtime, compared with the fp32 model, scored\n" +
	"when labels are given, and timed against it.\n" +
	`
**Pipeline.** (0) The model is normalized: its opset is lifted to 13 (the
ONNX version-converter rules, from opset 9: QuantizeLinear needs 10 and
per-channel weights 13), ONNX Runtime's fused FusedConv, FusedGemm and
FusedMatMul (what ` + "`optimize`" + ` at level extended writes) are split back into
Conv, Gemm, MatMul and their activation, Constant weights become
initializers, Identity chains go, and a weight read by several nodes is
copied per node; the report's ` + "`normalized`" + ` says what changed. (1) ` + "`optimize: true`" + ` runs ONNX Runtime's basic optimizer
(Conv+BatchNorm folding, constant folding; standard ONNX out). That optimized
fp32 model is what gets quantized and what every number is compared with.
(2) Static mode calibrates (below). (3) Nodes are rewritten. (4) The result is
checked against the fp32 model on ` + "`accuracy.data`" + ` (else, when ` + "`accuracy`" + ` is
given, ` + "`accuracy.samples`" + ` random inputs; else the calibration data, else 8
random inputs; random inputs are uniform in [-1, 1] like compare's, with
another seed; ` + "`shapes`" + ` and ` + "`fixed_inputs`" + ` shape them, as everywhere) and (5) timed against it at batch 1
(` + "`verify_speed`" + `: ` + "`speed_iterations`" + ` runs of each, in interleaved turns,
medians with a 95% confidence interval, as every transform's speed check): a
model slower than its input, or timing too noisy to tell, is a WARN in the log
and the report. Only this
timing needs the machine alone: an instance with ` + "`verify_speed: false`" + `
runs beside other stages.

**Modes.** ` + "`mode: auto`" + ` (default) is int8-static when ` + "`calibration`" + ` is
given, else int8-dynamic.

- ` + "`int8-dynamic`" + `: MatMul and Gemm with a constant weight become
  com.microsoft ` + "`DynamicQuantizeMatMul`" + ` (weights int8 per output column,
  activations quantized to uint8 at run time, a following ` + "`Add`" + ` of a
  constant vector absorbed as the bias). The choice for transformers. Conv stays
  float: ONNX Runtime's CPU engine has no u8s8 ConvInteger kernel and its u8u8
  one is slower than float Conv (the cause of "INT8 Conv model fails to load" and
  "25x slower" reports against ONNX Runtime's own quantizer). Embedding tables
  (Gather of a constant [V, D]) are stored int8 per column in both modes and
  dequantized after the lookup.
- ` + "`int8-static`" + `: QDQ (QuantizeLinear → DequantizeLinear) around a connected
  INT8 region: Conv, MatMul and Gemm with constant weights, plus Add and Mul
  (of two activations), Sigmoid, HardSigmoid, HardSwish, LeakyRelu, Concat,
  MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape, Transpose,
  Squeeze, Unsqueeze, Slice when all their inputs are already INT8 and one of their
  readers is too: SiLU, HardSwish and squeeze-excitation blocks run as
  integer kernels. Relu and Clip right after a quantized node are folded into
  its output range (exact with asymmetric activations); HardSigmoid, which
  has no integer kernel, is written as an Add of its scaled input and beta
  whose output range is [0, 1], so the output quantization clamps exactly as
  it does (HardSwish: x times that). A BatchNormalization ONNX Runtime
  could not fold into a Conv (after a Concat or a pool, as in DenseNet) runs
  as the depthwise 1x1 Conv that computes it, and a ReduceMean over the
  spatial axes (MNASNet's x.mean([2, 3])) as the GlobalAveragePool (and
  Flatten, without keepdims) that computes it. A Shape reads the quantized
  tensor, so no DequantizeLinear runs only for a shape. A Conv on a model
  input whose channel count is not a multiple of 4 (an RGB image's stem)
  reads the quantized input padded with zero-point channels (zero weights)
  up to one, which ONNX Runtime's symmetric INT8 conv kernel needs: exact,
  and the stem runs about 2x faster. Weights int8 per output channel (Conv axis 0,
  MatMul [K,N] axis 1, Gemm axis 0 with transB, else 1), biases int32 with scale = input scale x weight
  scale. ONNX Runtime fuses this into QLinearConv, QLinearAdd, QLinearMul,
  QLinearSigmoid, QLinearLeakyRelu, QLinearConcat, QLinearGlobalAveragePool,
  QGemm, MatMulIntegerToFloat; everything else stays float instead of paying
  for conversions. ` + "`format: qoperator`" + ` writes those integer operators
  out (QLinearConv, QLinearMatMul, QGemm, QLinearAdd, QLinearMul,
  QLinearSigmoid, QLinearLeakyRelu, QLinearConcat, QLinearGlobalAveragePool).

Default types are uint8 activations and int8 symmetric weights: on ONNX
Runtime 1.30's CPU engine s8s8 QDQ fuses only partly (float Conv and Add left
between conversions) and ran at 0.3-0.8x of fp32's speed on resnet_small, while
u8s8 fuses completely and ran 1.6-1.8x faster at batch 1 (see TestPerfTable). On CPUs
without AVX-VNNI, u8s8 products can saturate: set ` + "`reduce_range: true`" + `.
Numerics follow ONNX QuantizeLinear exactly (round half to even, ranges widened
to include 0, ONNX Runtime's scale and zero-point rules).

**Calibration** runs the optimized model in ONNX Runtime with every tensor to
calibrate added as a graph output, batch by batch (` + "`batch_size`" + `), and folds
each batch into per-tensor min/max and a fixed-size histogram before the next
one: memory does not grow with the number of samples. ` + "`method`" + `:
` + "`minmax`" + ` (observed range), ` + "`percentile`" + ` (drops (100-p)/2 % at each end),
` + "`entropy`" + ` (KL-divergence threshold, TensorRT style, over ` + "`bins`" + ` bins
against 255 levels). The data must name exactly the model's inputs (arrays
named ` + "`labels`" + ` or like a model output are ignored).

**Accuracy budget.** With ` + "`accuracy.max_drop`" + ` (a fraction: 0.005 = half a
point of top-1 accuracy, needs labels), ` + "`accuracy.max_rel_error`" + ` (max
|int8 - fp32| / max |fp32| over the outputs) or ` + "`accuracy.min_agreement`" + `
(top-1 agreement with the fp32 model, as compare's ` + "`top1_agreement`" + `: the
share of samples whose argmax over the last axis is the fp32 model's, on the
classifier output with labels, else the smallest over the float outputs of
rank 2 or more; no labels needed), a model that breaks the budget triggers a
sensitivity search: each weight layer is measured alone in INT8, and layers
are kept in float, most harmful first (lowest agreement alone, then largest
error), until the budget holds. The budget is met on the verification data:
with unlabelled random inputs give enough of them (` + "`accuracy.samples`" + `: 64
allow no flipped sample at 0.99, 256 allow two) for the agreement to carry over
to other inputs. When even every weight layer in float does not meet it, the
report says ` + "`met: false`" + ` and the log and report warn. Each layer's measure
is one quantization and verification run: minutes for a model with a hundred
weight layers.

**Skipped nodes** are reported with the reason: weights not constant after
optimization, op types without a faster integer kernel, ` + "`exclude`" + `,
the budget. Bad input fails before any work: calibration or accuracy data whose
names, types or shapes do not match the model's inputs, an empty data set, an
` + "`exclude`" + ` name not in the model, a model that is already quantized.

**Outputs.** ` + "`model`" + `, ` + "`report`" + ` (JSON: every node's decision and reason,
sizes, calibration, verification, speed, budget search, warnings), and the
values ` + "`size_before`" + `, ` + "`size_after`" + `, ` + "`size_ratio`" + `, ` + "`quantized_nodes`" + `,
` + "`float_nodes`" + `, ` + "`max_rel_error`" + `, ` + "`accuracy`" + `, ` + "`accuracy_before`" + `,
` + "`accuracy_drop`" + ` (-1/0 without labels), ` + "`agreement`" + ` (top-1 agreement with
fp32) and ` + "`speedup`" + `, ` + "`speedup_low`" + `,
` + "`speedup_high`" + ` (batch 1). The report has every transform's shared keys (see
"Model transforms" above) and quantize's own: ` + "`mode`, `format`, `config`" + `,
` + "`size_fp32_optimized`, `quantized_nodes`, `float_nodes`, `nodes`" + `,
` + "`calibration`" + `, ` + "`agreement`" + ` and ` + "`budget`" + `.

Example: a CNN with static INT8 and a half-point accuracy budget, a CNN with
no labelled data that must keep 99% of fp32's top-1 answers on 64 random
inputs, and an encoder with dynamic INT8.

` + "```yaml" + `
stages:
  cnn:
    uses: quantize
    with:
      model: ../examples/models/digits_cnn.onnx
      calibration: { data: ../examples/data/digits_calib.npz, method: percentile }
      accuracy: { data: ../examples/data/digits_test.npz, max_drop: 0.005 }
  unlabelled:
    uses: quantize
    with:
      model: ../examples/models/resnet_small.onnx
      calibration: { data: ../examples/data/resnet_inputs.npz }
      accuracy: { samples: 64, min_agreement: 0.99 }
  encoder:
    uses: quantize
    with:
      model: ../examples/models/encoder.onnx
      mode: int8-dynamic
      accuracy: { data: ../examples/data/encoder_test.npz }
  gate:
    uses: assert
    with:
      checks:
        - that: ${{ stages.cnn.outputs.accuracy_drop <= 0.005 }}
          message: INT8 lost more than half a point
` + "```" + `
`
