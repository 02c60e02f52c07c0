// Package compare owns the `compare` stage: it runs a reference model and one or
// more candidates over the same data (a .npz with inputs and optional labels, or
// reproducible random inputs) in ONNX Runtime, measures how far each candidate's
// outputs are from the reference's (absolute and relative error, cosine
// similarity, NaN/Inf, top-1 agreement, accuracy and its drop), and fails when a
// candidate breaks the recipe's tolerances.
package compare
