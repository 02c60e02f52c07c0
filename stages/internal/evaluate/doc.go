// Package evaluate owns running a model over a data set and comparing models'
// outputs: the shared evaluation of the compare, benchmark, quantize, prune, fp16
// and select stages.
//
// API:
//
//   - LoadData(path) (*Data, error) reads a .npz, .npy or folder of .npy files: every
//     array but "labels" is a candidate input (those named like a model's inputs are
//     used), "labels" (int64 or int32 [N]) becomes Data.Labels. All arrays share the
//     first dimension N, the samples; NewData does the same for in-memory tensors
//     (for example runtime.RandomInputs).
//   - Data.Match(info) checks the data against a model's inputs (name, dtype, rank,
//     static dims after the first) and names each offending input, what was
//     expected and what was got, wrapping runtime.ErrMismatch. Data.Batches(size)
//     iterates zero-copy batches (runtime.Slice).
//   - Run(ctx, modelPath, data, Options{Batch, Threads, Providers,
//     OptimizationLevel, Progress}) (*Outputs, error) runs the model over every
//     sample in batches (default 32, or the model's static batch dimension, padding
//     the short last batch) and concatenates each output along axis 0.
//     RunSession does the same on an open runtime.Session; BatchSize resolves the
//     batch size and rejects one a static batch dimension forbids.
//   - Compare(ref, cand, labels) *Comparison gives, per output (sorted by name):
//     max and mean absolute error, max and mean relative error
//     |a-b|/(|a|+RelEpsilon), cosine similarity, NaN and Inf counts of both,
//     top-1 agreement (argmax along the last axis, float outputs of rank >= 2) and,
//     with labels and a float [N, C] output, both accuracies and the drop
//     (fractions: 0.01 = one point). Every field is valid JSON (no NaN or Inf).
//   - Accuracy(out, output, labels) float64 and ClassifierOutput(out, n) pick and
//     score a classifier output; AllClose(ref, cand, atol, rtol) applies
//     numpy.allclose's rule and says how many elements break it.
//   - FlattenModels(param, map) flattens a `models`/`candidates` parameter whose
//     values may be maps label -> path (a matrix stage's output) into name -> path:
//     a nested entry is named by its label alone when unambiguous, else
//     "name/label".
//   - Float64s widens any numeric tensor (float16 and bfloat16 decoded).
package evaluate
