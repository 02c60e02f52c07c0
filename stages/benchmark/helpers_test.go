package benchmark

import (
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// staticBatchModel writes the digits CNN with its batch dimension fixed at n.
func staticBatchModel(tb testing.TB, n int64) string {
	tb.Helper()
	m, err := onnx.Load(testenv.Example(tb, "models/digits_cnn.onnx"))
	if err != nil {
		tb.Fatal(err)
	}
	g := m.Proto.GetGraph()
	for _, vi := range append(g.GetInput(), g.GetOutput()...) {
		vi.GetType().GetTensorType().GetShape().GetDim()[0].Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: n}
	}
	g.ValueInfo = nil
	path := filepath.Join(tb.TempDir(), "static.onnx")
	if err := onnx.Save(m, path, onnx.SaveOptions{}); err != nil {
		tb.Fatal(err)
	}
	return path
}
