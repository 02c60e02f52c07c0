package prune

const specDoc = `Prunes an ONNX model natively, without Python or the model's training code.
ONNX Runtime's fused FusedConv, FusedGemm and FusedMatMul (what ` + "`optimize`" + ` at level
extended writes) are first split back into standard ops, so an optimized model prunes
as its source does, a model at an opset ONNX Runtime has no kernels for (opset 6)
is lifted to opset 7, and Constant and Identity chains are resolved: the normalization
every model stage does.

**Strategies.**

- ` + "`magnitude`" + ` zeroes the weights of smallest |w| until ` + "`amount`" + ` of them are zero.
- ` + "`random`" + ` zeroes randomly chosen weights (` + "`seed`" + `) until ` + "`amount`" + ` are zero: a baseline.
- ` + "`n:m`" + ` keeps the N largest |w| of every M consecutive weights along the reduction
  (input) axis and zeroes the rest, the layout sparse tensor cores use (2:4 on
  Ampere and later). Conv weight [out, in, kh, kw]: groups of M consecutive input
  channels, for each output channel and kernel position. Gemm: along K (axis 1 with
  transB=1, else 0). MatMul B [K, N]: along K. A layer whose input axis is not a
  multiple of M stays dense and is listed under ` + "`skipped`" + ` in the report.
  Zeroed weights are stored and multiplied like any others: ONNX Runtime's CPU
  kernels skip no zeros, so these three make no model faster and no file
  smaller. The stage says so and reports what zeros do buy, the compressed
  size: ` + "`compressed_size_before`" + ` and ` + "`compressed_size_after`" + ` (zstd of the weights).
- ` + "`structured`" + ` removes whole output channels of Conv, Gemm and MatMul layers, ranked
  by the mean |w| (` + "`norm: l1`" + `) or root mean square (` + "`l2`" + `) of each channel's weights,
  and rewrites every layer that reads them: the next Conv's input channels, Gemm or
  MatMul input features (times the spatial size after a Flatten or a constant
  Reshape, whose shape is rewritten; a Squeeze of spatial axes passes them), BatchNormalization and InstanceNormalization
  parameters, biases and per-channel constants of Add/Mul/..., and depthwise Convs
  (their filters and group shrink with their input). Channels tied by a residual
  Add (or any elementwise op, such as a squeeze-excitation Mul) are one group,
  pruned together; Concat inputs keep their own channels at shifted offsets.
  Constants are followed through Identity and Constant nodes, and a constant
  several layers share (PyTorch's exporter deduplicates equal biases) is cloned
  for each layer whose channels must differ. Channels that reach a graph output,
  a Reshape/Transpose/Split/Shape, a grouped (not depthwise) Conv, a subgraph or
  any op the analysis does not know are left alone (the report says which and
  why), so the rewrite never breaks a graph; it prunes less. The result has
  fewer parameters and runs faster: torchvision ResNet18/50 and
  MobileNetV2/V3 at amount 0.3 run 1.8-2.3x faster in ONNX Runtime on CPU.
  BatchNormalization is handled explicitly, not by fusing first, so the
  output stays a plain ONNX model that any runtime loads; ONNX Runtime fuses
  Conv+BN itself when it loads the model.

` + "`amount`" + ` is a fraction in [0, 1). With ` + "`scope: global`" + ` (default) the least important
weights (channels) of all layers together go, which lets sensitive layers keep
more; global structured pruning compares each channel with its own group's mean
score, since weight scales differ between layers. With ` + "`layer`" + ` every layer, or
channel group, loses that fraction (rounded). Structured pruning then rounds
each group's kept channels to the nearest multiple of ` + "`channel_multiple`" + ` (default 16,
at least one multiple; groups of 16 or fewer stay whole): ONNX Runtime's CPU
convolutions run in a blocked layout (8 channels on AVX2, 16 on AVX-512) only
when channel counts are multiples of the block, and fall back to slower kernels
otherwise; on the torchvision zoo exact counts (` + "`channel_multiple: 1`" + `) made
MobileNets slower than dense, 8 gave 1.4-2.0x and 16 gave 1.8-2.3x (docs/pruning.md).
` + "`channel_multiple: 1`" + ` prunes exactly ` + "`amount`" + `. On the digits CNN, global kept accuracy better for
both strategies (docs/pruning.md has the table).
**Sensitivity-aware allocation.** ` + "`allocation: sensitivity`" + ` (the default for structured
pruning when ` + "`data`" + ` or ` + "`calibration`" + ` is given; ` + "`uniform`" + ` otherwise) measures each channel
group's cost: the group alone loses the step's amount of its channels and the
model runs over ` + "`calibration`" + ` (else ` + "`data`" + `); its sensitivity is the relative squared
error of the outputs, plus the accuracy drop when the data has labels. Groups
then lose shares inversely proportional to their sensitivity (at most 90% of
any group), scaled so that ` + "`amount`" + ` of all free channels go; ` + "`scope`" + ` is then unused.
The report gives each group's and layer's ` + "`sensitivity`" + ` beside what it lost. On the
digits CNN at 40% of its channels: 98.6% instead of 95.8% (uniform, global).
It costs one run over the data per channel group and step.
**Latency target.** ` + "`target: {speedup: 1.3}`" + ` (structured, instead of ` + "`amount`" + `) searches the
smallest amount whose model runs 1.3 times faster than the original in ONNX
Runtime, so it loses as little accuracy as the target allows (with data the
channels are also allocated by sensitivity). Each candidate prunes the
original and is timed side by side with it by the harness's speed check (random inputs of
` + "`target.batch`" + `, default 1, ` + "`threads`" + ` intra-op threads; 36 runs of each in alternating turns,
ratio of medians): amounts 0.1, 0.2, ... until one reaches the target, then three bisections
between the last two. Values ` + "`amount`" + `, ` + "`speedup`" + `, ` + "`speedup_low`" + ` and ` + "`speedup_high`" + ` (its
95% interval) say what was chosen, the report's ` + "`speed`" + ` how it was timed, and
` + "`target_trials`" + ` lists every amount timed with its interval. An instance with a target runs
alone (nothing else runs while it times). An unreachable target fails with the best
speedup seen. The result depends on the machine that ran it, so the cache key of
an instance with a target includes the machine's fingerprint: run it where the model will run.
` + "`op_types`" + ` limits the layers (Conv, Gemm, MatMul), ` + "`exclude`" + ` names nodes or weights to
leave alone: for structured pruning an excluded layer keeps its output channels,
and so does every layer tied to it.

**Bias compensation.** With ` + "`data`" + ` (or ` + "`calibration`" + `), structured pruning measures each
removed channel's mean activation in ONNX Runtime and folds mean × weights into
the bias of the layer that read it, so only the channel's variation is lost
(digits CNN, 30% of channels per layer: 96.1% instead of 87.2%).
` + "`compensate: false`" + ` turns it off. Measure on a set apart from the one you report on.

**Iterative pruning.** ` + "`schedule: [0.1, 0.2, 0.3]`" + ` writes one model per step, each step
pruning the previous one up to the scheduled total (for structured, the fraction
of the original channels). Pruning usually needs fine-tuning between steps; that
is a chain of stages (prune, then your ` + "`shell`" + ` or plugin training stage, then prune
its output again): see docs/pruning.md.

**Verification.** Every output model is loaded and run in ONNX Runtime before the
stage succeeds. With ` + "`data`" + ` (an .npz of the inputs, plus ` + "`labels`" + ` for accuracy) both
models run over it and the report compares their outputs (max error, cosine,
top-1 agreement); without it a random batch checks that the model runs.

**Outputs.** ` + "`model`" + ` (the last step's), ` + "`models`" + ` (a folder: one ` + "`<amount>.onnx`" + ` per step),
` + "`report`" + ` (JSON), and values ` + "`sparsity`" + `, ` + "`layer_sparsity`" + `, ` + "`params_before`" + `, ` + "`params_after`" + `,
` + "`size_before`" + `, ` + "`size_after`" + `, ` + "`compressed_size_before`" + `, ` + "`compressed_size_after`" + `, ` + "`removed_channels`" + `, ` + "`accuracy`" + `, ` + "`accuracy_before`" + `,
` + "`accuracy_drop`" + ` (the last step's) and ` + "`steps`" + ` (a map from step label to its values). The
report has every transform's shared keys (see "Model transforms" above: ` + "`size_after`" + `,
` + "`verification`" + ` and ` + "`output`" + ` are the last step's) and prune's own: ` + "`strategy`, `scope`" + `,
` + "`params_before`, `compressed_size_before`, `note`, `accuracy_before`, `target`, `amount`" + `,
` + "`target_trials`" + ` and ` + "`steps`" + ` (each step's figures, layers, channel groups and comparison).

Example: remove 30% of the channels, then gate on accuracy.

` + "```yaml" + `
stages:
  prune:
    uses: prune
    with:
      model: ../examples/models/digits_cnn.onnx
      strategy: structured
      amount: 0.3
      data: ../examples/data/digits_test.npz   # inputs + labels
  gate:
    uses: assert
    with:
      checks:
        - that: ${{ stages.prune.outputs.accuracy_drop <= 0.01 }}
          message: pruning cost more than one point of accuracy
` + "```" + `
`
