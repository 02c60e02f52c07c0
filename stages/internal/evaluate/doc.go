// Package evaluate owns running a model over a data set and comparing models'
// outputs: the shared evaluation of the compare, benchmark, quantize, prune, fp16
// and select stages.
//
// API:
//
//   - LoadData(path) / Load(path, LoadOptions{Labels}) (*Data, error) open a .npz,
//     .npy, folder of .npy files or folder of .npz files (one feed each) and read
//     the arrays' headers only: the data is read batch by batch as it is fed
//     (runtime.ArrayFile), so memory does not grow with the number of samples;
//     Close releases the file. Axis 0 of every array is the sample: an array of
//     the input's rank is a batch, one of rank+1 holds stacked complete feeds
//     (scalars and non-leading batch axes included), a scalar array is the same
//     in every feed; "labels" (integers [N]) becomes Data.Labels. NewData does
//     the same for in-memory tensors; Data.Fix adds fixed_inputs; Head(n) views
//     the first n samples.
//   - Data.Match(info) checks the data against a model's inputs (name, form,
//     dtype, rank, static dims) and names each offending input, what was
//     expected and what was got, wrapping runtime.ErrMismatch.
//     Data.Batches(info, size) yields each run's inputs in model order (size
//     samples per run for batches, one for stacked feeds; float data converted
//     to the input's float type); Feed(info, i) and FirstBatch give one.
//   - FeedShapes(info, graph, shapes, skip, warn) resolves one random feed's
//     shapes (shapes: full shapes, then shared symbolic names, value_info, 1 for
//     batch-like dims; an unknown dim is an error with a ready shapes: line);
//     RandomData(info, RandomOptions) makes reproducible random samples from
//     them (a model stage's "data file, else random" rule is transform.Data).
//   - Run(ctx, modelPath, data, Options{Batch, Threads, Providers,
//     OptimizationLevel, Progress}) (*Outputs, error) runs the model over every
//     sample in batches (default 32, or the model's static batch dimension, padding
//     the short last batch) and concatenates each output along axis 0; stacked
//     feeds run one per sample and each output is stacked on a new axis 0.
//     RunSession does the same on an open runtime.Session; BatchSize resolves the
//     batch size and rejects one a static batch dimension forbids.
//   - Compare(ref, cand, labels) *Comparison gives, per output (sorted by name):
//     max and mean absolute error, max and mean relative error (RelError: the
//     absolute error over the reference's max |value|), cosine similarity, NaN and Inf counts of both,
//     top-1 agreement (argmax along the last axis, float outputs of rank >= 2) and,
//     with labels and a float [N, C] output, both accuracies and the drop
//     (fractions: 0.01 = one point). Every field is valid JSON (no NaN or Inf).
//   - Accuracy(out, output, labels) float64 and ClassifierOutput(out, n) pick and
//     score a classifier output; AllClose(ref, cand, atol, rtol) applies
//     the atol/rtol rule (AllCloseDoc: numpy.allclose's, with elements near
//     zero held to rtol of the output's root-mean-square magnitude) and says
//     how many elements break it.
//   - FlattenModels(param, map) flattens a `models`/`candidates` parameter whose
//     values may be maps label -> path (a matrix stage's output) into name -> path:
//     a nested entry is named by its label alone when unambiguous, else
//     "name/label".
//   - Float64s widens any numeric tensor (float16 and bfloat16 decoded).
package evaluate
