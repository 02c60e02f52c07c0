package onnx

import "errors"

// Sentinel errors; wrapped with the file and tensor they concern.
var (
	// ErrDataSize: a tensor's data holds a different number of elements
	// than its dims imply.
	ErrDataSize = errors.New("tensor data size does not match dims")
	// ErrUnknownDataType: a tensor's data_type is not one this schema
	// defines.
	ErrUnknownDataType = errors.New("unknown data type")
	// ErrExternalUnresolved: a tensor still points at an external file;
	// only Load resolves those.
	ErrExternalUnresolved = errors.New("tensor data is external and was not loaded")
	// ErrTooLarge: the model cannot be written as one protobuf (2 GiB
	// limit) with the options given.
	ErrTooLarge = errors.New("model exceeds the 2 GiB protobuf limit")
	// ErrNotProtobuf: a file read as a model is not well-formed protobuf
	// (ExternalFiles; callers that only ask "does it reference other files"
	// treat such a file as referencing none).
	ErrNotProtobuf = errors.New("not well-formed protobuf")
)
