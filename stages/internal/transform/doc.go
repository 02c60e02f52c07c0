// Package transform is the harness the model transforms (optimize, fp16,
// quantize, prune) share: each stage is its transform between the same steps,
// done the same way.
//
//  1. Open loads the model (onnx.Load: external data resolved, every tensor
//     checked; a corrupt file fails naming it), lets the stage check it as the
//     user wrote it (Options.Check: node names in `exclude`, an already
//     quantized model), and normalizes it (package normalize, with the
//     transform's Options.Normalize and at least normalize.ORTMinOpset): opset
//     lifted, ONNX Runtime's fused ops split back, Constant and Identity chains
//     resolved, shared weights copied where asked. A model that cannot be
//     normalized fails naming the node and the reason (*normalize.NodeError).
//     When normalization changed the model, the normalized copy is saved to the
//     work dir (NormalizedFile, in the original's external data layout) and
//     Model.Path names it, so every ONNX Runtime session (reference,
//     calibration, timing) runs the model the transform sees; Model.Close
//     removes that scratch copy.
//  2. Data opens what the model runs on: the data file (checked against the
//     model's inputs and outputs before any work: a misspelt array, a missing
//     input, a wrong dtype, rank or static dim are errors naming the
//     parameter and the file; labels read for accuracy; fixed_inputs applied),
//     else reproducible random samples. It is read batch by batch.
//  3. The stage transforms the model and writes it with Save: onnx.Save, which
//     writes through internal/atomicfile, so a failed save leaves no partial
//     file (the original's external data layout kept, external data past
//     2 GiB).
//  4. Reference runs the original once over the data; Verifier.Check runs a
//     transformed model (in ONNX Runtime's worker process, so a crash is an
//     error) and compares it with evaluate.Compare: per-output errors, cosine,
//     NaN and Inf counts, top-1 agreement, and accuracy where the data has
//     labels. It fails when the model does not load or run (ErrRun), when an
//     output is missing or has another shape, and when an output has NaN or
//     Inf the original has not (Finite). The tolerance is the stage's own:
//     optimize's atol/rtol, fp16's max_rel_error, quantize's accuracy budget.
//  5. Sizes measures the input and the result with onnx.FileSize (the model
//     file plus every external data file it references); Speed, where a stage
//     is asked for it (verify_speed, prune's target), times the models side
//     by side in the worker: interleaved turns, medians with a bootstrap
//     confidence interval (package stats, the benchmark's), the speedup's
//     interval, and whether the timing was too noisy to mean much. A stage
//     that times declares it (stages.ExclusiveFor), so the engine runs it
//     alone.
//  6. The stage reports: Report is the part of report.json every transform
//     shares (model, output, sizes and ratio, the normalization, the
//     verification with every output's comparison, speed, warnings), which
//     each stage's report embeds beside its own; the values size_before,
//     size_after, on labelled data accuracy_before/accuracy/accuracy_drop
//     (AccuracyOf, Accuracy.Values), and speedup/speedup_low/speedup_high
//     where timed (SpeedReport.Values).
//
// Doc is the summary docs/stages.md carries.
package transform
