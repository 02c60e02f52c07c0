package onnx

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/x448/float16"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func TestStatsGolden(t *testing.T) {
	m := ifModel()
	m.ProducerVersion = proto.String("1.0")
	m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String("com.microsoft"), Version: proto.Int64(1)})
	m.Graph.Node = append(m.Graph.Node, &onnxpb.NodeProto{OpType: proto.String("QGemm"), Domain: proto.String("com.microsoft")})
	q := &onnxpb.TensorProto{Name: proto.String("q"), Dims: []int64{5}}
	SetInt4s(q, []int8{0, 1, 0, -2, 0})
	m.Graph.Initializer = append(m.Graph.Initializer, q)
	s, err := ComputeStats(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "stats.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./onnx -run StatsGolden -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("stats differ from %s:\n%s", golden, got)
	}
	// W has 3 zeros of 6, b 1 of 3, q 3 of 5.
	if s.Parameters != 14 || s.Zeros != 7 || s.Nodes != 10 || s.Subgraphs != 2 {
		t.Errorf("parameters %d zeros %d nodes %d subgraphs %d", s.Parameters, s.Zeros, s.Nodes, s.Subgraphs)
	}
}

// TestRawZeros counts zeros from raw bytes as decoding would: -0 is zero, and
// typed-field tensors still count through the decoded values.
func TestRawZeros(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	f := &onnxpb.TensorProto{Name: proto.String("f"), Dims: []int64{5}}
	SetFloat32s(f, []float32{0, negZero, 1, 2.5, 1e-45})
	i := &onnxpb.TensorProto{Name: proto.String("i"), Dims: []int64{3}}
	SetInt64s(i, []int64{0, 5, 0})
	h := &onnxpb.TensorProto{Name: proto.String("h"), Dims: []int64{3}}
	SetFloat16s(h, []float16.Float16{0x8000, 0x3c00, 0})
	typed := &onnxpb.TensorProto{Name: proto.String("typed"), Dims: []int64{2}, DataType: proto.Int32(int32(Float)), FloatData: []float32{0, 3}}
	for _, tc := range []struct {
		t    *onnxpb.TensorProto
		want int64
	}{{f, 2}, {i, 2}, {h, 2}, {typed, 1}} {
		ts, err := tensorStats(tc.t)
		if err != nil {
			t.Fatal(err)
		}
		if ts.Zeros != tc.want {
			t.Errorf("%s: %d zeros, want %d", tc.t.GetName(), ts.Zeros, tc.want)
		}
	}
}
