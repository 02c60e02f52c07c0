// Package fp16 owns the `fp16` stage: float32 to float16 conversion of an
// ONNX model done in Go, with the failures of the reference converters
// (onnxconverter-common, onnxruntime's transformers float16) designed out.
//
// Convert decides, per node, whether it computes in float16, using each
// operator's signature (schemas_gen.go, generated from the onnx package's
// schemas) to know which inputs and outputs may be float16. Nodes stay
// float32 when an op or node block list says so, when they are neither
// standard ONNX nor a known ONNX Runtime fused op (contrib.go), when they
// touch sequences, and when they compute "integer-valued
// float maths": the float arithmetic found by walking back from a shape,
// index, count or axes input (Reshape's shape, Range, Slice, Resize sizes and
// scales, ConstantOfShape, Expand, Tile, TopK's k, OneHot's depth...), and
// anything computed only from Shape/Size and small constants (a 1/sqrt(d)
// scale, a position table from Range).
// Every value then has one type, and each reader that wants another gets a
// shared Cast (or, for an initializer, a float16 copy) placed where the value
// is defined, so readers in If/Loop/Scan bodies get correct boundary Casts
// too. Converted control-flow nodes carry float16 through their bodies'
// inputs and outputs. Lossless cascaded Casts are removed, narrowing ones
// kept, and the graph is left topologically sorted.
package fp16
