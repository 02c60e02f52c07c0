package prune

const specDoc = `Prunes an ONNX model natively, without Python or the model's training code.
ONNX Runtime's fused FusedConv, FusedGemm and FusedMatMul (what ` + "`optimize`" + ` at level
extended writes) are first split back into standard ops, so an optimized model prunes
as its source does.

**Strategies.**

- ` + "`magnitude`" + ` zeroes the weights of smallest |w| until ` + "`amount`" + ` of them are zero.
- ` + "`random`" + ` zeroes randomly chosen weights (` + "`seed`" + `) until ` + "`amount`" + ` are zero: a baseline.
- ` + "`n:m`" + ` keeps the N largest |w| of every M consecutive weights along the reduction
  (input) axis and zeroes the rest, the layout sparse tensor cores use (2:4 on
  Ampere and later). Conv weight [out, in, kh, kw]: groups of M consecutive input
  channels, for each output channel and kernel position. Gemm: along K (axis 1 with
  transB=1, else 0). MatMul B [K, N]: along K. A layer whose input axis is not a
  multiple of M stays dense and is listed under ` + "`skipped`" + ` in the report.
- ` + "`structured`" + ` removes whole output channels of Conv, Gemm and MatMul layers, ranked
  by the mean |w| (` + "`norm: l1`" + `) or root mean square (` + "`l2`" + `) of each channel's weights,
  and rewrites every layer that reads them: the next Conv's input channels, Gemm or
  MatMul input features (times the spatial size after a Flatten or a constant
  Reshape, whose shape is rewritten; a Squeeze of spatial axes passes them), BatchNormalization and InstanceNormalization
  parameters, biases and per-channel constants of Add/Mul/..., and depthwise Convs
  (their filters and group shrink with their input). Channels tied by a residual
  Add (or any elementwise op) are one group, pruned together; Concat inputs keep
  their own channels at shifted offsets. Channels that reach a graph output, a
  Reshape/Transpose/Split/Shape, a grouped Conv, a subgraph or any op the analysis
  does not know are left alone (the report says which and why), so the rewrite
  never breaks a graph; it prunes less. The result has fewer parameters and runs
  faster. BatchNormalization is handled explicitly, not by fusing first, so the
  output stays a plain ONNX model that any runtime loads; ONNX Runtime fuses
  Conv+BN itself when it loads the model.

` + "`amount`" + ` is a fraction in [0, 1). With ` + "`scope: global`" + ` (default) the least important
weights (channels) of all layers together go, which lets sensitive layers keep
more; global structured pruning compares each channel with its own group's mean
score, since weight scales differ between layers. With ` + "`layer`" + ` every layer, or
channel group, loses that fraction (rounded). Structured pruning then rounds
each group's kept channels to the nearest multiple of ` + "`channel_multiple`" + ` (default 8,
at least one multiple; groups of 8 or fewer stay whole): CPU and GPU kernels work
on blocks of 8 or 16 channels and pad the rest, so 11 kept channels cost as much
as 16. ` + "`channel_multiple: 1`" + ` prunes exactly ` + "`amount`" + `; 16 suits AVX-512 CPUs. On the digits CNN, global kept accuracy better for
both strategies (docs/pruning.md has the table).
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
` + "`size_before`" + `, ` + "`size_after`" + `, ` + "`removed_channels`" + `, ` + "`accuracy`" + `, ` + "`accuracy_before`" + `,
` + "`accuracy_drop`" + ` (the last step's) and ` + "`steps`" + ` (a map from step label to its values).

Example: remove 30% of the channels, then gate on accuracy.

` + "```yaml" + `
stages:
  prune:
    uses: prune
    with:
      model: models/resnet.onnx
      strategy: structured
      amount: 0.3
      data: data/val.npz          # inputs + labels
  gate:
    uses: assert
    with:
      checks:
        - that: ${{ stages.prune.outputs.accuracy_drop <= 0.01 }}
          message: pruning cost more than one point of accuracy
` + "```" + `
`
