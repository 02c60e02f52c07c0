package onnx

import (
	"fmt"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// ValidateTensor checks that t's data type is known and that the data it
// holds (raw_data or the typed field) has exactly the size its dims imply.
// Tensors with external data are checked only for their type.
func ValidateTensor(t *onnxpb.TensorProto) error {
	dt := DataType(t.GetDataType())
	if dt == Undefined && !hasData(t) && len(t.GetDims()) == 0 {
		// An empty placeholder (e.g. an omitted optional value) carries
		// nothing to validate.
		return nil
	}
	if !KnownDataType(t.GetDataType()) {
		return fmt.Errorf("tensor %q: %w %d", t.GetName(), ErrUnknownDataType, t.GetDataType())
	}
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return nil
	}
	n, err := NumElements(t.GetDims())
	if err != nil {
		return fmt.Errorf("tensor %q: %w", t.GetName(), err)
	}
	if t.Segment != nil {
		// A segment holds a slice of a larger tensor; its size is not
		// derivable from dims alone.
		return nil
	}
	want, got, field := expectedSize(t, dt, n)
	if want != got {
		return fmt.Errorf("tensor %q: %w: %s dims %v need %d in %s, found %d",
			t.GetName(), ErrDataSize, DataTypeName(int32(dt)), t.GetDims(), want, field, got)
	}
	return nil
}

func hasData(t *onnxpb.TensorProto) bool {
	return t.RawData != nil || len(t.FloatData) > 0 || len(t.Int32Data) > 0 ||
		len(t.StringData) > 0 || len(t.Int64Data) > 0 || len(t.DoubleData) > 0 ||
		len(t.Uint64Data) > 0 || len(t.ExternalData) > 0
}

// expectedSize returns how many units the field holding t's data must have
// for n elements, how many it has, and the field's name for messages.
func expectedSize(t *onnxpb.TensorProto, dt DataType, n int64) (want, got int64, field string) {
	if t.RawData != nil && dt != String {
		return RawSize(dt, n), int64(len(t.RawData)), "raw_data bytes"
	}
	switch dt {
	case Float:
		return n, int64(len(t.FloatData)), "float_data"
	case Complex64:
		return 2 * n, int64(len(t.FloatData)), "float_data"
	case Double:
		return n, int64(len(t.DoubleData)), "double_data"
	case Complex128:
		return 2 * n, int64(len(t.DoubleData)), "double_data"
	case Int64:
		return n, int64(len(t.Int64Data)), "int64_data"
	case Uint32, Uint64:
		return n, int64(len(t.Uint64Data)), "uint64_data"
	case String:
		return n, int64(len(t.StringData)), "string_data"
	}
	// Everything else lives in int32_data, sub-byte types packed by
	// storage byte.
	per := int64(1)
	switch ElemBits(dt) {
	case 4:
		per = 2
	case 2:
		per = 4
	}
	return (n + per - 1) / per, int64(len(t.Int32Data)), "int32_data"
}
