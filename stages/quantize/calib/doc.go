// Package calib owns static-quantization calibration: it runs a model in
// ONNX Runtime over calibration batches with the tensors to calibrate added as
// graph outputs, and reduces every tensor of every batch at once into
// fixed-size streaming statistics (running min/max, histograms whose bin
// width doubles instead of growing) so that memory does not depend on the
// number of samples. From those statistics it derives ranges by MinMax,
// Percentile or Entropy (KL divergence).
package calib
