package inspect

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// peakEnv, when set, makes TestPeakRSSChild inspect that model and print its
// process's peak RSS: BenchmarkInspectPeakRSS runs it in a fresh process.
const peakEnv = "SZRUN_PEAK_INSPECT"

// TestPeakRSSChild is BenchmarkInspectPeakRSS's child; it does nothing unless
// run by it.
func TestPeakRSSChild(t *testing.T) {
	path := os.Getenv(peakEnv)
	if path == "" {
		t.Skip("run by BenchmarkInspectPeakRSS")
	}
	r, err := Inspect(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("PEAK_RSS %d SIZE %d\n", vmHWM(), r.SizeBytes)
}

// BenchmarkInspectPeakRSS inspects a 2.4 GB model (one MatMul by a 24576x24576
// float32 weight in external data, the case) in a fresh process and
// reports its peak RSS over the model's size; the goal is at most 1.2x. It
// needs ~2.5 GB of disk and ~5 GB of memory: run it on its own,
// `go test ./stages/inspect -run '^$' -bench InspectPeakRSS -benchtime 1x`.
func BenchmarkInspectPeakRSS(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "big.onnx")
	writeBig(b, path, 24576)
	var ratio float64
	for range b.N {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestPeakRSSChild$", "-test.count", "1")
		cmd.Env = append(os.Environ(), peakEnv+"="+path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("child: %v\n%s", err, out)
		}
		var peak, size int64
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) == 4 && f[0] == "PEAK_RSS" {
				peak, _ = strconv.ParseInt(f[1], 10, 64)
				size, _ = strconv.ParseInt(f[3], 10, 64)
			}
		}
		if peak == 0 || size == 0 {
			b.Fatalf("child printed no peak\n%s", out)
		}
		ratio = max(ratio, float64(peak)/float64(size))
		b.ReportMetric(float64(size)/(1<<20), "MiB-model")
		b.ReportMetric(float64(peak)/(1<<20), "MiB-peak")
	}
	b.ReportMetric(ratio, "peak/model")
}

// writeBig saves y = x @ W with W a [n, n] float32 initializer of ones and
// zeros, its data in big.onnx.data.
func writeBig(b *testing.B, path string, n int64) {
	w := &onnxpb.TensorProto{Name: proto.String("W"), Dims: []int64{n, n}, DataType: proto.Int32(int32(onnx.Float))}
	raw := make([]byte, n*n*4)
	for i := 0; i < len(raw); i += 4 * 7 {
		raw[i+3] = 0x3f // 1.0 at every seventh element: a non-trivial zero count
		raw[i+2] = 0x80
	}
	w.RawData = raw
	vi := func(name string) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnx.Float)), Shape: &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
				{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}},
				{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: n}}}}}}}}
	}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(17)}},
		Graph: &onnxpb.GraphProto{Name: proto.String("big"), Initializer: []*onnxpb.TensorProto{w},
			Input: []*onnxpb.ValueInfoProto{vi("x")}, Output: []*onnxpb.ValueInfoProto{vi("y")},
			Node: []*onnxpb.NodeProto{{OpType: proto.String("MatMul"), Name: proto.String("mm"), Input: []string{"x", "W"}, Output: []string{"y"}}}}}
	if err := onnx.Save(&onnx.Model{Proto: m}, path, onnx.SaveOptions{External: onnx.ExternalAlways}); err != nil {
		b.Fatal(err)
	}
}

// vmHWM is this process's peak resident set in bytes.
func vmHWM() int64 {
	s, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(s), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
