// Package onnx owns szrun's view of an ONNX model: the protobuf types
// (generated into onnxpb from the project's own onnx.proto), loading and
// saving with external data, tensor codecs and graph helpers.
//
// Nouns:
//
//   - Model: a *onnxpb.ModelProto with every tensor's data in memory, plus
//     the file and directory it came from. Load resolves external data and
//     validates each tensor's type and size; Save writes atomically and
//     moves data to "<file>.data" (4096-aligned) when the model is over
//     2 GiB, was loaded that way, or SaveOptions asks. A model nobody
//     changed saves back byte for byte (deterministic field order, unknown
//     fields kept). Load maps the file instead of reading it and Save
//     streams raw_data, so peak memory stays near 2x the model.
//   - Codecs: Float32s, Int8s, Float16s, BF16s, Int4s, ... decode a
//     TensorProto from raw_data or its typed field; SetFloat32s and friends
//     store raw_data. Float32ToFloat16 and BF16FromFloat32 round to
//     nearest even.
//   - Graph helpers: Producers, Consumers, TopoSort (stable), Namer,
//     InsertBefore/ReplaceNode/RemoveNodes, WalkGraphs with a Scope that
//     knows which names come from enclosing graphs (If/Loop/Scan bodies),
//     OpsetFor, ValueType, Initializer, InlineConstants (Constant nodes and
//     Identity chains of constants become initializers read directly) and
//     ConstantTensor.
//   - Stats: a JSON-friendly summary (ops, parameters by type, sparsity,
//     I/O, opsets) that the inspect stage prints.
//
// The package imports no other szrun package.
package onnx
